/**
 * Execs: `POST /v1/containers/{id}/exec` creates one, `POST /v1/exec/{exec}/start` runs it (answering with
 * its output, streaming it as NDJSON, or detached), `GET /v1/exec/{exec}` shows it, and the WebSocket at
 * `/v1/exec/{exec}/attach` carries an interactive session. The WebSocket's messages (docs/api.md, Execs):
 * - binary frames: one byte saying the stream (0 stdin from the client; 1 stdout, 2 stderr from the
 *   server), then the bytes;
 * - text frames, JSON: from the client `{"resize": {"rows", "cols"}}`, `{"eof": true}` (end of stdin),
 *   `{"signal": "SIGINT"}`; from the server last `{"exit": code}` (then close 1000), or
 *   `{"error": {"code", "message"}}` (then close 1011).
 * @module
 */
import { PassThrough } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import type { Exec } from '../../containers/execs.ts';
import type { ContainerManager } from '../../containers/manager.ts';
import { parseSignal } from '../../containers/signal-name.ts';
import { HearthError } from '../../errors.ts';
import type { OutputChunk } from '../../sandbox/sandbox.ts';
import { toResponse } from '../error-handler.ts';
import { ExecCreate, ExecItem, ExecLine, ExecParams, ExecResult, ExecStart } from '../control-schemas.ts';
import { IdParams, errors } from '../schemas.ts';

const tags = ['execs'];

/** What `start` without `detach` keeps of each stream; the rest is dropped (`truncated`). */
export const EXEC_OUTPUT_CAP_BYTES = 1024 * 1024;

/** Stream bytes of the attach WebSocket's binary frames. */
export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;

export function execItem(e: Exec) {
  return {
    id: e.id,
    container_id: e.containerId,
    cmd: e.spec.argv,
    tty: e.spec.tty,
    stdin: e.spec.stdin,
    running: e.running,
    exit_code: e.exitCode,
    pid: e.pid,
  };
}

type ExecReq = { Params: { exec: string } };

export function execRoutes(app: FastifyInstance, manager: ContainerManager): void {
  app.post<{ Params: { id: string }; Body: ExecCreate }>(
    '/v1/containers/:id/exec',
    {
      schema: {
        tags,
        summary: 'Create an exec: a command to run in a running container',
        description:
          "Runs as Docker's exec: the container's root filesystem, its environment plus `env`, its user and working " +
          'directory unless given. Created, not started: start it, or attach to it. 409 unless the container is running.',
        params: IdParams,
        body: ExecCreate,
        response: { 201: Type.Object({ id: Type.String() }), ...errors(400, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const exec = await manager.createExec(req.params.id, {
        cmd: b.cmd,
        env: b.env ?? {},
        ...(b.user ? { user: b.user } : {}),
        ...(b.working_dir ? { workingDir: b.working_dir } : {}),
        tty: b.tty ?? false,
        stdin: b.stdin ?? false,
        ...(b.privileged ? { privileged: true } : {}),
      });
      return reply.status(201).header('location', `/v1/exec/${exec.id}`).send({ id: exec.id });
    },
  );

  app.get<ExecReq>(
    '/v1/exec/:exec',
    { schema: { tags, summary: 'Get an exec', params: ExecParams, response: { 200: Type.Object({ item: ExecItem }), ...errors(400, 404) } } },
    async (req) => ({ item: execItem(manager.getExec(req.params.exec)) }),
  );

  app.post<ExecReq & { Body: { detach?: boolean } | undefined }>(
    '/v1/exec/:exec/start',
    {
      schema: {
        tags,
        summary: 'Run an exec',
        description:
          'Once per exec (409 after). `detach`: answers `{"item"}` once the command started. Otherwise waits for the ' +
          `command to end and answers its exit code and output (each stream capped at ${EXEC_OUTPUT_CAP_BYTES} bytes, ` +
          '`truncated` then); with `Accept: application/x-ndjson` the output streams as it comes, one line per chunk ' +
          '(base64), the exit code last. stdin reads EOF at once unless detached (use the WebSocket to feed it). ' +
          'A client that goes away does not stop the command.',
        params: ExecParams,
        body: Type.Optional(ExecStart),
        response: {
          200: {
            content: {
              'application/json': { schema: Type.Union([ExecResult, Type.Object({ item: ExecItem })]) },
              'application/x-ndjson': { schema: ExecLine },
            },
          },
          ...errors(400, 404, 409, 503),
        },
      },
    },
    (req, reply) => start(manager, req, reply),
  );

  app.route<ExecReq & { Querystring: { rows?: number; cols?: number } }>({
    method: 'GET',
    url: '/v1/exec/:exec/attach',
    schema: {
      tags,
      summary: 'Attach to an exec (WebSocket)',
      description:
        'A WebSocket (400 without the upgrade). Starts the exec if it was not started (with the window size ' +
        '`rows`x`cols` for a tty); joins it if it runs (output from then on); gives its exit at once if it ended. ' +
        'Binary frames are `<stream byte><bytes>`: 0 stdin (client to server), 1 stdout, 2 stderr. Text frames are ' +
        'JSON: `{"resize":{"rows","cols"}}`, `{"eof":true}` (end of stdin), `{"signal":"SIGINT"}` from the client; ' +
        '`{"exit":code}` (then close 1000) or `{"error":{"code","message"}}` (then close 1011) from the server. The ' +
        'exec keeps running when the client goes; another may attach.',
      params: ExecParams,
      querystring: Type.Object(
        {
          rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
          cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        },
        { additionalProperties: false },
      ),
      response: { 101: Type.Null({ description: 'Switching to the WebSocket protocol' }), ...errors(400, 404) },
    },
    // Before the upgrade: an unknown exec is an HTTP 404, not a WebSocket that closes.
    preHandler: async (req) => void manager.getExec(req.params.exec),
    handler: async () => {
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_WEBSOCKET_REQUIRED', 'this route is a WebSocket: send the upgrade headers (Connection: Upgrade, Upgrade: websocket)');
    },
    wsHandler: (socket: WebSocket, req: FastifyRequest<ExecReq & { Querystring: { rows?: number; cols?: number } }>) =>
      attach(manager, socket, manager.getExec(req.params.exec), req.query),
  });
}

async function start(manager: ContainerManager, req: FastifyRequest<ExecReq & { Body: { detach?: boolean } | undefined }>, reply: FastifyReply) {
  const exec = manager.getExec(req.params.exec);
  if (req.body?.detach) {
    await manager.startExec(exec.id);
    return reply.send({ item: execItem(exec) });
  }
  const ndjson = (req.headers.accept ?? '').includes('application/x-ndjson');
  if (!ndjson) {
    const out = { stdout: new Capped(), stderr: new Capped() };
    const onOutput = (c: OutputChunk) => out[c.stream].add(c.data);
    exec.on('output', onOutput);
    try {
      await manager.startExec(exec.id);
      exec.endStdin();
      const code = await exec.done();
      if (exec.startError) out.stderr.add(Buffer.from(exec.startError + '\n'));
      return reply.send({
        exit_code: code,
        output: { stdout: out.stdout.text(), stderr: out.stderr.text(), truncated: out.stdout.truncated || out.stderr.truncated },
      });
    } finally {
      exec.off('output', onOutput);
    }
  }
  const stream = new PassThrough();
  const line = (v: unknown) => stream.write(JSON.stringify(v) + '\n');
  const onOutput = (c: OutputChunk) => line({ stream: c.stream, data: c.data.toString('base64') });
  exec.on('output', onOutput);
  try {
    await manager.startExec(exec.id);
  } catch (e) {
    exec.off('output', onOutput);
    throw e;
  }
  exec.endStdin();
  void exec.done().then((code) => {
    exec.off('output', onOutput);
    if (exec.startError) onOutput({ stream: 'stderr', timestamp: new Date(), data: Buffer.from(exec.startError + '\n') });
    line({ exit_code: code });
    stream.end();
  });
  reply.raw.once('close', () => exec.off('output', onOutput));
  return reply.type('application/x-ndjson').send(stream);
}

/** A stream's output, kept up to EXEC_OUTPUT_CAP_BYTES. */
class Capped {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;
  add(data: Buffer): void {
    const room = EXEC_OUTPUT_CAP_BYTES - this.bytes;
    if (data.length > room) this.truncated = true;
    const kept = data.subarray(0, Math.max(0, room));
    if (kept.length === 0) return;
    this.chunks.push(Buffer.from(kept));
    this.bytes += kept.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** One client's session with an exec over the WebSocket (message format in the module comment). */
function attach(manager: ContainerManager, socket: WebSocket, exec: Exec, size: { rows?: number; cols?: number }): void {
  const frame = (stream: number, data: Buffer) => socket.send(Buffer.concat([Buffer.from([stream]), data]));
  let errorSent = false;
  const sendStartError = () => {
    if (exec.startError && !errorSent) frame(STREAM_STDERR, Buffer.from(exec.startError + '\n'));
    errorSent = true;
  };
  const onOutput = (c: OutputChunk) => frame(c.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR, c.data);
  const onExit = (code: number | null) => {
    sendStartError();
    socket.send(JSON.stringify({ exit: code }));
    socket.close(1000, 'exited');
  };
  const fail = (e: unknown) => {
    socket.send(JSON.stringify(toResponse(e)[1]));
    socket.close(1011, 'error');
  };
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    try {
      if (isBinary) {
        if (data[0] === STREAM_STDIN) exec.write(data.subarray(1));
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as { resize?: { rows: number; cols: number }; eof?: boolean; signal?: string };
      if (msg.resize && Number.isInteger(msg.resize.rows) && Number.isInteger(msg.resize.cols)) exec.resize(msg.resize.rows, msg.resize.cols);
      if (msg.eof) exec.endStdin();
      if (msg.signal !== undefined) manager.signalExec(exec.id, parseSignal(String(msg.signal), 'signal'));
    } catch (e) {
      // A bad message is reported, not fatal: the session goes on.
      if (e instanceof SyntaxError) socket.send(JSON.stringify({ error: { code: 'HEARTH_ERR_INVALID_ARGUMENT', message: 'a text frame must be JSON' } }));
      else socket.send(JSON.stringify(toResponse(e)[1]));
    }
  });
  socket.once('close', () => {
    // The exec goes on without this client, as Docker's does.
    exec.off('output', onOutput);
    exec.off('exit', onExit);
  });
  if (exec.state === 'exited') return onExit(exec.exitCode);
  exec.on('output', onOutput);
  exec.once('exit', onExit);
  if (exec.state === 'created') {
    if (size.rows && size.cols) exec.spec.size = { rows: size.rows, cols: size.cols };
    manager.startExec(exec.id).then(sendStartError, (e) => {
      exec.off('output', onOutput);
      exec.off('exit', onExit);
      fail(e);
    });
  }
}
