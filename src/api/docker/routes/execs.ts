/**
 * `docker exec`: create (in a running container), start (hijacked like attach: the command's output framed
 * unless it has a TTY, the client's stdin to it; or detached), resize, inspect (the CLI reads the exit code
 * from it once the stream ends).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Exec } from '../../../containers/execs.ts';
import { ALL_CAPABILITIES_MASK } from '../../../containers/capabilities.ts';
import { isHearthError } from '../../../errors.ts';
import type { DockerContext } from '../context.ts';
import { DockerError, invalidParameter, noSuchExec, notRunning } from '../errors.ts';
import { withContainer } from '../resolve.ts';
import { statusOf } from '../shapes/container.ts';
import { frame, streamType } from '../shapes/frames.ts';
import { atLeast } from '../version.ts';
import { intParam } from './params.ts';

type Json = Record<string, unknown>;

export function execRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const { manager } = ctx;
  const getExec = (id: string): Exec => {
    try {
      return manager.getExec(id);
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_EXEC_NOT_FOUND')) throw noSuchExec(id);
      throw e;
    }
  };

  app.post<{ Params: { id: string }; Body: Json | undefined }>('/containers/:id/exec', async (req, reply) => {
    const b = req.body ?? {};
    const cmd = b.Cmd;
    if (!Array.isArray(cmd) || cmd.length === 0 || cmd.some((x) => typeof x !== 'string')) throw invalidParameter('No exec command specified');
    const env: Record<string, string> = {};
    for (const e of Array.isArray(b.Env) ? (b.Env as unknown[]) : []) {
      if (typeof e !== 'string') throw invalidParameter('Env must be a list of strings');
      const eq = e.indexOf('=');
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const exec = await withContainer(ctx, req.params.id, async (c) => {
      if (statusOf(c) !== 'running' || c.state === 'paused') {
        throw c.state === 'paused' ? new DockerError(409, `Container ${c.container_id} is paused, unpause the container before exec`) : notRunning(c.container_id);
      }
      return manager.createExec(c.id, {
        cmd: cmd as string[],
        env,
        ...(typeof b.User === 'string' && b.User !== '' ? { user: b.User } : {}),
        ...(typeof b.WorkingDir === 'string' && b.WorkingDir !== '' ? { workingDir: b.WorkingDir } : {}),
        tty: b.Tty === true,
        stdin: b.AttachStdin === true,
        // Every capability of the guest's kernel, never the host's: the container is a microVM.
        ...(b.Privileged === true ? { privileged: true } : {}),
      });
    });
    return reply.code(201).send({ Id: exec.id });
  });

  ctx.hijacks.add(app, '/exec/:id/start', async (req, open) => {
    const exec = getExec(req.params.id!);
    const body = (req.body ?? {}) as Json;
    if (exec.state !== 'created') throw new DockerError(409, `Exec ${exec.id} has already been started`);
    const size = Array.isArray(body.ConsoleSize) ? (body.ConsoleSize as number[]) : undefined;
    if (body.Detach === true) {
      await manager.startExec(exec.id);
      if (size && exec.spec.tty) exec.resize(size[0]!, size[1]!);
      return { status: 200 };
    }
    const tty = exec.spec.tty;
    const stream = open(streamType(tty, atLeast(req.raw, '1.42')));
    exec.on('output', (chunk) => stream.write(tty ? chunk.data : frame(chunk.stream, chunk.data)));
    const ended = exec.done().then(() => stream.end());
    try {
      await manager.startExec(exec.id);
    } catch (e) {
      // As dockerd: the reason goes down the stream, the exit code is in the exec's inspect.
      stream.write(Buffer.from(`${e instanceof Error ? e.message : String(e)}\r\n`));
      stream.end();
      return;
    }
    if (exec.startError) stream.write(tty ? Buffer.from(`${exec.startError}\r\n`) : frame('stderr', Buffer.from(`${exec.startError}\n`)));
    if (size && tty) exec.resize(size[0]!, size[1]!);
    if (exec.spec.stdin && stream.input) {
      stream.input.on('data', (b: Buffer) => exec.write(b));
      stream.input.once('end', () => exec.endStdin());
    }
    await ended;
  });

  app.post<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/exec/:id/resize', async (req, reply) => {
    const exec = getExec(req.params.id);
    const h = intParam(req.query.h, 'h', 0);
    const w = intParam(req.query.w, 'w', 0);
    if (h <= 0 || w <= 0 || h > 65535 || w > 65535) throw invalidParameter(`invalid resize: height ${h}, width ${w}`);
    if (!exec.running) throw new DockerError(409, `Exec ${exec.id} is not running`);
    exec.resize(h, w);
    return reply.code(200).send();
  });

  app.get<{ Params: { id: string } }>('/exec/:id/json', async (req) => {
    const exec = getExec(req.params.id);
    const c = await manager.get(exec.containerId).catch(() => undefined);
    const [entrypoint, ...args] = exec.spec.argv;
    return {
      ID: exec.id,
      Running: exec.running,
      ExitCode: exec.state === 'exited' ? (exec.exitCode ?? (exec.startError ? 126 : 137)) : null,
      ProcessConfig: { tty: exec.spec.tty, entrypoint, arguments: args, privileged: exec.spec.capabilities === ALL_CAPABILITIES_MASK, user: exec.spec.user },
      OpenStdin: exec.spec.stdin,
      OpenStderr: true,
      OpenStdout: true,
      CanRemove: false,
      ContainerID: c?.container_id ?? '',
      DetachKeys: '',
      Pid: exec.pid ?? 0,
    };
  });
}
