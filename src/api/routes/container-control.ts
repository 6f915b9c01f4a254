/**
 * The routes that act on a running container without ending its run: kill, wait, rename, pause, unpause
 * and top. Thin: the schema and one call into the containers layer.
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import { parseSignal } from '../../containers/signal-name.ts';
import type { WaitCondition } from '../../containers/waits.ts';
import type { GuestProcess } from '../../sandbox/sandbox.ts';
import { KillQuery, RenameQuery, TopResult, WaitQuery, WaitResult } from '../control-schemas.ts';
import { ContainerItem, IdParams, errors } from '../schemas.ts';
import { containerItem } from './containers.ts';

const tags = ['containers'];
const Item = Type.Object({ item: ContainerItem });
type Id = { Params: { id: string } };

export function containerControlRoutes(app: FastifyInstance, manager: ContainerManager): void {
  app.post<Id & { Querystring: { signal?: string } }>(
    '/v1/containers/:id/kill',
    {
      schema: {
        tags,
        summary: "Send a signal to a container's process",
        description:
          'Any signal, by name (`SIGKILL`, `KILL`, `kill`) or number, as Docker parses them; default SIGKILL. The state ' +
          'follows from how the process ends; not a user stop, so the restart policy applies (as Docker). A paused ' +
          'container is unpaused first. 409 unless running or paused.',
        params: IdParams,
        querystring: KillQuery,
        response: { 200: Item, ...errors(400, 404, 409, 503) },
      },
    },
    async (req) => {
      const signo = parseSignal(req.query.signal ?? 'SIGKILL');
      return { item: containerItem(await manager.kill(req.params.id, signo)) };
    },
  );

  app.post<Id & { Querystring: { condition?: WaitCondition } }>(
    '/v1/containers/:id/wait',
    {
      schema: {
        tags,
        summary: 'Wait for a container to stop running, to exit next, or to be removed',
        description:
          "Docker's conditions: `not-running` (default) answers at once for a container that is not running (nor " +
          'provisioning, nor about to restart), else when its run ends; `next-exit` when the next run ends; `removed` ' +
          'when it is deleted. Answers the exit code of its last run, and `error` if that run ended in error. 503 if ' +
          'the manager shuts down meanwhile.',
        params: IdParams,
        querystring: WaitQuery,
        response: { 200: WaitResult, ...errors(400, 404, 503) },
      },
    },
    async (req) => {
      const aborted = new AbortController();
      req.raw.once('close', () => aborted.abort());
      return manager.wait(req.params.id, req.query.condition ?? 'not-running', aborted.signal);
    },
  );

  app.post<Id & { Querystring: { name: string } }>(
    '/v1/containers/:id/rename',
    {
      schema: {
        tags,
        summary: 'Rename a container',
        description: 'Any state. 409 `HEARTH_ERR_NAME_IN_USE` if another container has the name.',
        params: IdParams,
        querystring: RenameQuery,
        response: { 200: Item, ...errors(400, 404, 409, 503) },
      },
    },
    async (req) => ({ item: containerItem(await manager.rename(req.params.id, req.query.name)) }),
  );

  app.post<Id>(
    '/v1/containers/:id/pause',
    {
      schema: {
        tags,
        summary: "Pause a running container (its VM's vCPUs stop)",
        description: 'State `paused`: the guest uses no CPU; it stays paused across manager restarts. 409 unless running.',
        params: IdParams,
        response: { 200: Item, ...errors(404, 409, 503) },
      },
    },
    async (req) => ({ item: containerItem(await manager.pause(req.params.id)) }),
  );

  app.post<Id>(
    '/v1/containers/:id/unpause',
    {
      schema: {
        tags,
        summary: 'Resume a paused container',
        description: "The vCPUs run again and the guest clock is set from the host's. 409 unless paused.",
        params: IdParams,
        response: { 200: Item, ...errors(404, 409, 503) },
      },
    },
    async (req) => ({ item: containerItem(await manager.unpause(req.params.id)) }),
  );

  app.get<Id>(
    '/v1/containers/:id/top',
    {
      schema: {
        tags,
        summary: "The guest's processes",
        description: 'As `docker top`: titles, then one row of strings per process (TIME is CPU time, RSS in KiB). 409 unless running.',
        params: IdParams,
        response: { 200: TopResult, ...errors(404, 409) },
      },
    },
    async (req) => topTable(await manager.top(req.params.id)),
  );
}

export const TOP_TITLES = ['PID', 'PPID', 'USER', 'TIME', 'RSS', 'CMD'];

/** `docker top`'s shape: titles and rows of strings; TIME as [dd-]hh:mm:ss of CPU time, RSS in KiB. */
export function topTable(ps: GuestProcess[]): { titles: string[]; processes: string[][] } {
  const time = (ms: number) => {
    const s = Math.floor(ms / 1000);
    const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0')).join(':');
    return s >= 86400 ? `${Math.floor(s / 86400)}-${hms}` : hms;
  };
  return {
    titles: TOP_TITLES,
    processes: ps.map((p) => [String(p.pid), String(p.ppid), p.user, time(p.cpuTimeMs), String(Math.round(p.rssBytes / 1024)), p.command]),
  };
}
