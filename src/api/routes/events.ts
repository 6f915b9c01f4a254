/**
 * `GET /v1/events`: every container's events as a stream, NDJSON by default or Server-Sent Events with
 * `Accept: text/event-stream` (each event's `id:` is its id, so a browser's EventSource resumes with
 * `Last-Event-ID`). The backlog (`since`, `after`) first, then live events, until `until` passes.
 * @module
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import { invalidArgument } from '../../errors.ts';
import { EVENT_TYPES, type EventRecord, type EventType } from '../../model/index.ts';
import { EventsQuery, StreamEventItem } from '../control-schemas.ts';
import { errors } from '../schemas.ts';
import { FOLLOW_BUFFER_BYTES, parseSince } from './containers.ts';

export function eventRoutes(app: FastifyInstance, manager: ContainerManager): void {
  app.get<{ Querystring: EventsQuery }>(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: "Every container's events, as a stream",
        description:
          'NDJSON (one event per line), or Server-Sent Events with `Accept: text/event-stream` (`id:` the event id, ' +
          '`data:` the event). The backlog from the store first (`since` a time, `after` an event id, or ' +
          '`Last-Event-ID`), then each new event as it is written, with no gap and no repeat between the two; with ' +
          '`until` the stream ends once that time has passed, else when the client goes or the manager stops. A ' +
          `client that does not read is disconnected once ${FOLLOW_BUFFER_BYTES} bytes wait for it. Events of a ` +
          'deleted container go with it.',
        querystring: EventsQuery,
        response: {
          200: {
            content: {
              'application/x-ndjson': { schema: StreamEventItem },
              'text/event-stream': { schema: StreamEventItem },
            },
          },
          ...errors(400, 503),
        },
      },
    },
    (req, reply) => events(manager, req, reply),
  );
}

async function events(manager: ContainerManager, req: FastifyRequest<{ Querystring: EventsQuery }>, reply: FastifyReply) {
  const q = req.query;
  const sse = (req.headers.accept ?? '').includes('text/event-stream');
  const lastEventId = req.headers['last-event-id'];
  const after = q.after ?? (typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? Number(lastEventId) : undefined);
  const types = q.type === undefined ? undefined : list(q.type).map(eventType);
  const containerIds = q.container === undefined ? undefined : await resolveContainers(manager, list(q.container));
  const since = parseSince(q.since, 'querystring/since');
  const until = parseSince(q.until, 'querystring/until');

  const out = new PassThrough();
  const format = sse
    ? (e: EventRecord) => `id: ${e.id}\ndata: ${JSON.stringify(item(e))}\n\n`
    : (e: EventRecord) => JSON.stringify(item(e)) + '\n';
  const stop = new AbortController();
  const onEvent = (e: EventRecord) => {
    out.write(format(e));
    if (out.writableLength <= limit) return;
    req.log.warn({ buffered: out.writableLength }, 'disconnecting an event follower that does not keep up');
    stop.abort();
    reply.raw.destroy();
    out.destroy();
  };
  let limit = Infinity;
  reply.raw.once('close', () => stop.abort());
  await manager.followEvents(
    {
      ...(after !== undefined ? { afterId: after } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(containerIds ? { containerIds } : {}),
      ...(types ? { types } : {}),
    },
    onEvent,
    () => out.end(),
    stop.signal,
  );
  limit = out.writableLength + FOLLOW_BUFFER_BYTES;
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  if (sse) reply.header('cache-control', 'no-cache');
  return reply.type(sse ? 'text/event-stream' : 'application/x-ndjson').send(out);
}

function item(e: EventRecord) {
  return {
    id: e.id,
    container_id: e.container_id,
    image: e.image,
    volume: e.volume,
    network: e.network,
    time: e.time,
    type: e.type,
    from_state: e.from_state,
    to_state: e.to_state,
    message: e.message,
    exit_code: e.exit_code,
    health_status: e.health_status,
  };
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

function eventType(t: string): EventType {
  if ((EVENT_TYPES as readonly string[]).includes(t)) return t as EventType;
  throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `querystring/type: unknown event type "${t}" (one of ${EVENT_TYPES.join(', ')})`, 'querystring/type');
}

/** Names become the ids of the containers that have them now; anything else is taken as an id. */
async function resolveContainers(manager: ContainerManager, given: string[]): Promise<string[]> {
  const byName = new Map((await manager.list()).map((c) => [c.name, c.id]));
  return given.map((g) => byName.get(g) ?? g);
}
