/**
 * /v1/containers: the schemas and one call into the ContainerManager per route. Nothing here decides
 * anything about a container's life.
 * @module
 */
import { PassThrough } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import type { LogEntry, LogQuery } from '../../containers/log-store.ts';
import { invalidArgument } from '../../errors.ts';
import type { ContainerRecord, ContainerState } from '../../model/index.ts';
import {
  ContainerCreate,
  ContainerItem,
  ContainerUpdate,
  EventItem,
  IdParams,
  ListQuery,
  LogItem,
  LogsQuery,
  StopQuery,
  errors,
} from '../schemas.ts';

const tags = ['containers'];
const Item = Type.Object({ item: ContainerItem });

/** The API's view of a container record. */
export function containerItem(c: ContainerRecord) {
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    image_digest: c.image_digest,
    args: c.args,
    env_vars: c.env_vars,
    volumes: c.volumes,
    port_mappings: c.port_mappings.map((p) => ({ ...p, host_ip: p.host_ip ?? null })),
    hostname: c.hostname,
    extra_hosts: c.extra_hosts,
    dns: c.dns,
    dns_search: c.dns_search,
    dns_options: c.dns_options,
    stop_signal: c.stop_signal,
    stop_timeout_s: c.stop_timeout_s,
    tmpfs: c.tmpfs,
    cap_add: c.cap_add,
    cap_drop: c.cap_drop,
    privileged: c.privileged,
    restart_policy: c.restart_policy,
    restart_max_retries: c.restart_max_retries,
    tty: c.tty,
    stdin_open: c.stdin_open,
    cpus: c.cpus,
    memory_mib: c.memory_mib,
    state: c.state,
    container_runtime_id: `vm-${c.vm_id}`,
    container_id: c.container_id,
    error_message: c.error_message,
    exit_code: c.exit_code,
    oom_killed: c.oom_killed,
    restart_count: c.restart_count,
    guest_ip: c.guest_ip,
    created_at: c.created_at,
    updated_at: c.updated_at,
    started_at: c.started_at,
    finished_at: c.finished_at,
    healthcheck: c.healthcheck,
    health: c.health,
  };
}

type Id = { Params: { id: string } };

export function containerRoutes(app: FastifyInstance, manager: ContainerManager): void {
  app.post<{ Body: ContainerCreate }>(
    '/v1/containers',
    {
      schema: {
        tags,
        summary: 'Create a container and start provisioning it',
        description:
          'Returns as soon as the container is recorded (state `creating`); provisioning continues in the background. ' +
          '201 like Docker, since the resource exists (GET works) when the response is sent.',
        body: ContainerCreate,
        response: { 201: Type.Object({ id: Type.String({ format: 'uuid' }) }), ...errors(400, 409, 413, 415) },
      },
    },
    async (req, reply) => {
      const c = await manager.create(req.body);
      return reply.status(201).header('location', `/v1/containers/${c.id}`).send({ id: c.id });
    },
  );

  app.get<{ Querystring: { state?: ContainerState } }>(
    '/v1/containers',
    {
      schema: {
        tags,
        summary: 'List containers',
        querystring: ListQuery,
        response: { 200: Type.Object({ items: Type.Array(ContainerItem) }), ...errors(400) },
      },
    },
    async (req) => ({ items: (await manager.list(req.query.state)).map(containerItem) }),
  );

  app.get<Id>(
    '/v1/containers/:id',
    { schema: { tags, summary: 'Get a container', params: IdParams, response: { 200: Item, ...errors(404) } } },
    async (req) => ({ item: containerItem(await manager.get(req.params.id)) }),
  );

  app.put<Id & { Body: ContainerUpdate }>(
    '/v1/containers/:id',
    {
      schema: {
        tags,
        summary: 'Change a stopped container',
        description: 'Allowed in states stopped, exited and error (409 otherwise). Fields given replace the current ones.',
        params: IdParams,
        body: ContainerUpdate,
        response: { 200: Item, ...errors(400, 404, 409) },
      },
    },
    async (req) => ({ item: containerItem(await manager.update(req.params.id, req.body)) }),
  );

  app.delete<Id>(
    '/v1/containers/:id',
    {
      schema: {
        tags,
        summary: 'Delete a container in any state',
        description: 'A running container is killed first (as `docker rm -f`); provisioning is interrupted.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(404) },
      },
    },
    async (req, reply) => {
      await manager.remove(req.params.id);
      return reply.status(204).send();
    },
  );

  app.post<Id>(
    '/v1/containers/:id/start',
    {
      schema: {
        tags,
        summary: 'Start a stopped, exited or failed container',
        description:
          'Waits until the process runs or provisioning fails; the item says which. 409 if already running; ' +
          '503 if the manager shuts down meanwhile (provisioning resumes when it starts again).',
        params: IdParams,
        response: { 200: Item, ...errors(404, 409, 503) },
      },
    },
    async (req) => ({ item: containerItem(await manager.start(req.params.id)) }),
  );

  app.post<Id & { Querystring: { timeout?: number } }>(
    '/v1/containers/:id/stop',
    {
      schema: {
        tags,
        summary: 'Stop a container',
        description:
          'Sends the stop signal, then SIGKILL after `timeout` seconds; interrupts provisioning; cancels a pending ' +
          'restart. The restart policy leaves a stopped container stopped. 409 if there is nothing to stop.',
        params: IdParams,
        querystring: StopQuery,
        response: { 200: Item, ...errors(400, 404, 409) },
      },
    },
    async (req) => ({ item: containerItem(await manager.stop(req.params.id, graceMs(req.query.timeout))) }),
  );

  app.post<Id & { Querystring: { timeout?: number } }>(
    '/v1/containers/:id/restart',
    {
      schema: {
        tags,
        summary: 'Stop (if running) and start a container',
        description: 'As stop, then start (503 if the manager shuts down while it provisions).',
        params: IdParams,
        querystring: StopQuery,
        response: { 200: Item, ...errors(400, 404, 503) },
      },
    },
    async (req) => ({ item: containerItem(await manager.restart(req.params.id, graceMs(req.query.timeout))) }),
  );

  app.get<Id>(
    '/v1/containers/:id/events',
    {
      schema: {
        tags,
        summary: "A container's state transitions and other events, oldest first",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(EventItem) }), ...errors(404) },
      },
    },
    async (req) => ({ items: await manager.events(req.params.id) }),
  );

  app.get<Id & { Querystring: LogsQuery }>(
    '/v1/containers/:id/logs',
    {
      schema: {
        tags,
        summary: "A container's output",
        description:
          'JSON `{"items": [...]}` by default; plain text lines with `Accept: text/plain` or `format=text`. ' +
          'With `follow=true` the response streams until the process ends: NDJSON (one item per line) or text. ' +
          'A follower that stops reading is disconnected once more than 1 MiB of new output waits for it (the ' +
          'response ends without its last chunk).',
        params: IdParams,
        querystring: LogsQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: Type.Object({ items: Type.Array(LogItem) }) },
              'application/x-ndjson': { schema: LogItem },
              'text/plain': { schema: Type.String() },
            },
          },
          ...errors(400, 404),
        },
      },
    },
    (req, reply) => logs(manager, req, reply),
  );
}

/** How much new output may wait for a follower that does not read before it is disconnected. */
export const FOLLOW_BUFFER_BYTES = 1024 * 1024;

const graceMs = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

export function parseSince(since: string | undefined, field = 'querystring/since'): Date | undefined {
  if (since === undefined) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(since) ? Number(since) * 1000 : Date.parse(since);
  // Past the range of Date (±8.64e15 ms) the time is Invalid Date, which no entry compares before.
  if (Number.isNaN(new Date(ms).getTime())) {
    throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field} must be an RFC 3339 time or Unix seconds`, field);
  }
  return new Date(ms);
}

async function logs(manager: ContainerManager, req: FastifyRequest<Id & { Querystring: LogsQuery }>, reply: FastifyReply) {
  const q = req.query;
  const accept = req.headers.accept ?? '';
  const text = q.format ? q.format === 'text' : accept.includes('text/plain') && !accept.includes('application/json');
  const query: LogQuery = { stream: q.stream, since: parseSince(q.since), tail: q.tail };
  const asText = (e: LogEntry) => (q.timestamps ? `${e.timestamp} ${e.message}\n` : `${e.message}\n`);
  const asJson = (e: LogEntry) => JSON.stringify({ timestamp: e.timestamp, stream: e.stream, message: e.message }) + '\n';

  if (!q.follow) {
    const entries = await manager.readLogs(req.params.id, query);
    if (text) return reply.type('text/plain; charset=utf-8').send(entries.map(asText).join(''));
    return reply.type('application/json').send({ items: entries });
  }

  const format = text ? asText : asJson;
  const out = new PassThrough();
  // A follower that does not read would make the manager buffer the container's output without end. Past
  // the backlog plus FOLLOW_BUFFER_BYTES it is disconnected: the response is cut (no last chunk), so the
  // client can tell this from the process ending, and can follow again with `since`.
  let limit = Infinity;
  let dropped = false;
  const onEntry = (e: LogEntry) => {
    if (dropped) return;
    out.write(format(e));
    if (out.writableLength <= limit) return;
    dropped = true;
    unsubscribe();
    req.log.warn({ container: req.params.id, buffered: out.writableLength }, 'disconnecting a log follower that does not keep up');
    reply.raw.destroy();
    out.destroy();
  };
  const { backlog, unsubscribe, live } = await manager.followLogs(req.params.id, query, onEntry, () => out.end());
  for (const e of backlog) out.write(format(e));
  limit = out.writableLength + FOLLOW_BUFFER_BYTES;
  if (!live) out.end();
  reply.raw.once('close', unsubscribe);
  out.once('close', unsubscribe);
  // Fastify sends a stream's headers with its first bytes; a quiet container's follower gets them now.
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  return reply.type(text ? 'text/plain; charset=utf-8' : 'application/x-ndjson').send(out);
}
