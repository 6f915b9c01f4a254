/**
 * What changes a container's run: start, stop, restart, kill, pause, unpause, and what waits on it: wait,
 * and resize of its terminal. dockerd's answers: 204, or 304 when a start or stop has nothing to do, 409
 * with its words when the state forbids it.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { parseSignal } from '../../../containers/signal-name.ts';
import { WAIT_CONDITIONS, type WaitCondition } from '../../../containers/waits.ts';
import { isHearthError } from '../../../errors.ts';
import { ACTIVE_STATES } from '../../../model/index.ts';
import type { DockerContext } from '../context.ts';
import { conflict, DockerError, invalidParameter, noSuchContainer, notRunning } from '../errors.ts';
import { resolveContainer, withContainer } from '../resolve.ts';
import { statusOf } from '../shapes/container.ts';
import { intParam } from './params.ts';

type Ref = { Params: { id: string }; Querystring: Record<string, string | undefined> };

const SIGKILL = 9;
/** How long a SIGKILL's answer waits for the run to end (a VM that takes longer is answered anyway). */
const KILL_WAIT_MS = 10_000;

export function containerControlRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const { manager } = ctx;
  const graceMs = (t: string | undefined) => {
    const s = intParam(t, 't', -2);
    // -1 waits for ever in dockerd; Hearth caps a stop at a day.
    return s === -2 ? undefined : s < 0 ? 86_400_000 : Math.max(s * 1000, 0) || 1;
  };

  app.post<Ref>('/containers/:id/start', async (req, reply) => {
    const c = await resolveContainer(ctx, req.params.id);
    if (ACTIVE_STATES.has(c.state)) return reply.code(304).send();
    try {
      const after = await manager.start(c.id);
      if (after.state === 'error') throw new DockerError(500, after.error_message ?? `container ${c.name} failed to start`);
    } catch (e) {
      // Ran and ended, and `--rm` took it away before this answer: it did start.
      if (isHearthError(e, 'HEARTH_ERR_CONTAINER_NOT_FOUND') && c.auto_remove) return reply.code(204).send();
      if (isHearthError(e, 'HEARTH_ERR_CONTAINER_NOT_FOUND')) throw noSuchContainer(req.params.id);
      throw e;
    }
    return reply.code(204).send();
  });

  app.post<Ref>('/containers/:id/stop', async (req, reply) => {
    if (req.query.signal) throw invalidParameter('a stop signal in the request is not supported by Hearth: the container\'s own is sent (--stop-signal, else the image\'s STOPSIGNAL, else SIGTERM); use kill for another');
    const grace = graceMs(req.query.t);
    const stopped = await withContainer(ctx, req.params.id, async (c) => {
      // A restarting container is stopped too, as dockerd does: its pending restart is cancelled.
      if (!ACTIVE_STATES.has(c.state) && statusOf(c) !== 'running' && !manager.restartPending(c.id)) return false;
      try {
        await manager.stop(c.id, grace);
      } catch (e) {
        if (isHearthError(e, 'HEARTH_ERR_CONTAINER_STATE')) return false;
        throw e;
      }
      return true;
    });
    return reply.code(stopped ? 204 : 304).send();
  });

  app.post<Ref>('/containers/:id/restart', async (req, reply) => {
    if (req.query.signal) throw invalidParameter('a stop signal is not supported by Hearth');
    const grace = graceMs(req.query.t);
    await withContainer(ctx, req.params.id, async (c) => {
      const after = await manager.restart(c.id, grace);
      if (after.state === 'error') throw new DockerError(500, after.error_message ?? `container ${c.name} failed to start`);
    });
    return reply.code(204).send();
  });

  app.post<Ref>('/containers/:id/kill', async (req, reply) => {
    const signo = parseSignal(req.query.signal || 'SIGKILL', 'signal');
    await withContainer(ctx, req.params.id, async (c) => {
      if (statusOf(c) !== 'running' && statusOf(c) !== 'paused') {
        throw conflict(`Cannot kill container: ${req.params.id}: Container ${c.container_id} is not running`);
      }
      // dockerd answers a SIGKILL once the process is gone, so `docker kill x; docker rm x` works: the wait
      // is taken before the signal (a quick end is not missed), for at most KILL_WAIT_MS.
      const waiting = new AbortController();
      const timer = setTimeout(() => waiting.abort(), KILL_WAIT_MS);
      const ended = signo === SIGKILL ? manager.wait(c.id, 'next-exit', waiting.signal).catch(() => undefined) : undefined;
      try {
        await manager.kill(c.id, signo);
        await ended;
      } finally {
        clearTimeout(timer);
        waiting.abort();
      }
    });
    return reply.code(204).send();
  });

  app.post<Ref>('/containers/:id/pause', async (req, reply) => {
    await withContainer(ctx, req.params.id, async (c) => {
      if (c.state === 'paused') throw conflict(`Container ${c.container_id} is already paused`);
      if (statusOf(c) !== 'running') throw notRunning(c.container_id);
      await manager.pause(c.id);
    });
    return reply.code(204).send();
  });

  app.post<Ref>('/containers/:id/unpause', async (req, reply) => {
    await withContainer(ctx, req.params.id, async (c) => {
      if (c.state !== 'paused') throw conflict(`Container ${c.container_id} is not paused`);
      await manager.unpause(c.id);
    });
    return reply.code(204).send();
  });

  // Headers at once (the CLI waits for them before it starts the container), the answer when the condition holds.
  app.post<Ref>('/containers/:id/wait', async (req, reply) => {
    const condition = (req.query.condition || 'not-running') as WaitCondition;
    if (!WAIT_CONDITIONS.includes(condition)) throw invalidParameter(`invalid condition: "${condition}"`);
    const c = await resolveContainer(ctx, req.params.id);
    const gone = new AbortController();
    reply.hijack();
    const res = reply.raw;
    res.on('close', () => gone.abort());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.47' });
    res.flushHeaders();
    try {
      const r = await manager.wait(c.id, condition, gone.signal);
      res.end(JSON.stringify({ StatusCode: r.exit_code ?? (r.error ? 128 : 0), Error: r.error ? { Message: r.error.message } : null }) + '\n');
    } catch (e) {
      req.log.warn({ err: e }, 'docker wait ended without an answer');
      res.end(JSON.stringify({ StatusCode: -1, Error: { Message: isHearthError(e) ? e.message : 'the wait failed' } }) + '\n');
    }
  });

  app.post<Ref>('/containers/:id/resize', async (req, reply) => {
    const h = intParam(req.query.h, 'h', 0);
    const w = intParam(req.query.w, 'w', 0);
    if (h <= 0 || w <= 0 || h > 65535 || w > 65535) throw invalidParameter(`invalid resize: height ${h}, width ${w}`);
    await withContainer(ctx, req.params.id, async (c) => {
      if (statusOf(c) !== 'running') throw notRunning(c.container_id);
      const a = await manager.attach(c.id);
      try {
        a.resize(h, w);
      } finally {
        a.detach();
      }
    });
    return reply.code(200).send();
  });
}
