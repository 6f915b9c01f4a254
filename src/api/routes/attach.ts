/**
 * `GET /v1/containers/{id}/attach`: a WebSocket onto a running container's main process (`docker attach`),
 * with the message format of the exec attach WebSocket (execs.ts, docs/api.md):
 * - binary frames: one stream byte (0 stdin from the client; 1 stdout, 2 stderr from the server), the bytes;
 * - text frames, JSON: from the client `{"resize": {"rows", "cols"}}` (with `tty`), `{"eof": true}` (end of
 *   stdin, with `stdin_open`), `{"signal": "SIGINT"}` (to the process, as `POST /kill`); from the server
 *   `{"error": {"code", "message"}}` for input it refused (the session goes on), and last `{"exit": code}`
 *   when the process ends (then close 1000).
 * Closing the socket detaches: the container keeps running and anyone may attach again.
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import { ATTACH_REPLAY_BYTES, type Attachment } from '../../containers/attach.ts';
import type { ContainerManager } from '../../containers/manager.ts';
import { parseSignal } from '../../containers/signal-name.ts';
import { HearthError } from '../../errors.ts';
import type { OutputChunk } from '../../sandbox/sandbox.ts';
import { toResponse } from '../error-handler.ts';
import { IdParams, errors } from '../schemas.ts';
import { STREAM_STDERR, STREAM_STDIN, STREAM_STDOUT } from './execs.ts';
import { SLOW_CLIENT_BYTES } from '../slow-client.ts';

const AttachQuery = Type.Object(
  {
    logs: Type.Optional(Type.Boolean({ default: false, description: `First replay the recent output (the last ${ATTACH_REPLAY_BYTES} bytes kept in memory).` })),
    rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);
type AttachReq = { Params: { id: string }; Querystring: { logs?: boolean; rows?: number; cols?: number } };

export function attachRoutes(app: FastifyInstance, manager: ContainerManager): void {
  app.route<AttachReq>({
    method: 'GET',
    url: '/v1/containers/:id/attach',
    schema: {
      tags: ['containers'],
      summary: "Attach to a container's process (WebSocket)",
      description:
        'A WebSocket (400 without the upgrade; 409 unless the container is running) carrying the main process\'s ' +
        'stdout and stderr from now on (`logs=true`: the recent output first), its stdin when the container has ' +
        '`stdin_open`, its window size (`rows`x`cols` at once, then `resize`) when it has `tty`, and `{"exit":code}` ' +
        'when it ends. Messages as for `/v1/exec/{exec}/attach`; input the container does not take is answered ' +
        'with `{"error":{"code","message"}}` and the session goes on. Several clients may attach; closing the ' +
        'socket detaches and leaves the container running.',
      params: IdParams,
      querystring: AttachQuery,
      response: { 101: Type.Null({ description: 'Switching to the WebSocket protocol' }), ...errors(400, 404, 409) },
    },
    // Before the upgrade: an unknown or stopped container is an HTTP error, not a WebSocket that closes.
    preHandler: async (req) => {
      const attachment = await manager.attach(req.params.id);
      attachments.set(req, attachment);
    },
    handler: async (req) => {
      attachments.get(req)?.detach();
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_WEBSOCKET_REQUIRED', 'this route is a WebSocket: send the upgrade headers (Connection: Upgrade, Upgrade: websocket)');
    },
    wsHandler: (socket: WebSocket, req: FastifyRequest<AttachReq>) => {
      const attachment = attachments.get(req);
      if (attachment) session(manager, socket, req.params.id, attachment, req.query);
    },
  });
}

/** The attachment made before the upgrade, for the handler that serves the socket. */
const attachments = new WeakMap<FastifyRequest, Attachment>();

/** One client's session (message format in the module comment). */
function session(manager: ContainerManager, socket: WebSocket, id: string, attachment: Attachment, query: AttachReq['Querystring']): void {
  const frame = (stream: number, data: Buffer) => {
    if (socket.bufferedAmount > SLOW_CLIENT_BYTES) socket.close(1008, 'output unread');
    else socket.send(Buffer.concat([Buffer.from([stream]), data]));
  };
  const onOutput = (c: OutputChunk) => frame(c.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR, c.data);
  const refuse = (e: unknown) => socket.send(JSON.stringify(toResponse(e)[1]));
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    try {
      if (isBinary) {
        if (data[0] === STREAM_STDIN) attachment.write(data.subarray(1));
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as { resize?: { rows: number; cols: number }; eof?: boolean; signal?: string };
      if (msg.resize && Number.isInteger(msg.resize.rows) && Number.isInteger(msg.resize.cols)) attachment.resize(msg.resize.rows, msg.resize.cols);
      if (msg.eof) attachment.endStdin();
      if (msg.signal !== undefined) manager.kill(id, parseSignal(String(msg.signal), 'signal')).catch(refuse);
    } catch (e) {
      // A bad or refused message is reported, not fatal: the session goes on.
      if (e instanceof SyntaxError) refuse(new HearthError('InvalidArgument', 'HEARTH_ERR_INVALID_ARGUMENT', 'a text frame must be JSON'));
      else refuse(e);
    }
  });
  socket.once('close', () => attachment.detach());
  if (query.logs) for (const c of attachment.replay()) onOutput(c);
  if (attachment.tty && query.rows && query.cols) attachment.resize(query.rows, query.cols);
  attachment.subscribe(onOutput, (code) => {
    socket.send(JSON.stringify({ exit: code }));
    socket.close(1000, 'exited');
    attachment.detach();
  });
}
