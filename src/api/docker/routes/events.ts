/**
 * `GET /events` (`docker events`): the manager's one event log (the same /v1/events reads), in Docker's
 * shape (shapes/event.ts), as a stream of JSON objects. As dockerd: without `since` or `until` only what
 * happens from now on; `since` adds what happened since then; `until` ends the stream once it has passed
 * (at once if it is past). Filters: type, event, container (id, id prefix or name), image, label, scope,
 * network (id, id prefix or name), volume (name); daemon and the swarm's are accepted and match nothing.
 * @module
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stopSignal } from '../../../containers/stop-signal.ts';
import type { ContainerRecord, EventRecord } from '../../../model/index.ts';
import { familiarReference, parseReference } from '../../../images/reference.ts';
import type { DockerContext } from '../context.ts';
import { DockerError } from '../errors.ts';
import { matchLabels, matchOne, parseFilters, type Filters } from '../filter-args.ts';
import { dockerEvents, type DockerEvent, type EventContainer } from '../shapes/event.ts';

type Query = { Querystring: { since?: string; until?: string; filters?: string } };

const FILTERS = ['type', 'event', 'container', 'image', 'label', 'scope', 'network', 'volume', 'daemon', 'node', 'service', 'config', 'secret', 'plugin'];
/** A follower that does not read is dropped once this much waits for it. */
const BUFFER_LIMIT_BYTES = 1024 * 1024;

export function eventRoutes(app: FastifyInstance, ctx: DockerContext): void {
  app.get<Query>('/events', (req, reply) => events(ctx, req, reply));
}

async function events(ctx: DockerContext, req: FastifyRequest<Query>, reply: FastifyReply) {
  const filters = parseFilters(req.query.filters, FILTERS);
  const since = dockerTime(req.query.since, 'since');
  const until = dockerTime(req.query.until, 'until');
  const actors = new Actors(ctx);
  await actors.refresh();

  const out = new PassThrough();
  const stop = new AbortController();
  reply.raw.once('close', () => stop.abort());
  const onEvent = (e: EventRecord) =>
    actors.then(e, (actor) => {
      if (out.destroyed) return;
      for (const d of dockerEvents(e, actor)) if (picks(filters, d)) out.write(`${JSON.stringify(d)}\n`);
      if (out.writableLength > BUFFER_LIMIT_BYTES) {
        req.log.warn({ buffered: out.writableLength }, 'disconnecting a docker events follower that does not keep up');
        stop.abort();
        reply.raw.destroy();
        out.destroy();
      }
    });
  // Without since (nor until) only what happens from now on, as dockerd.
  const from = since ?? (until ? undefined : new Date());
  await ctx.manager.followEvents(
    { ...(from ? { since: from } : {}), ...(until ? { until } : {}) },
    onEvent,
    () => void actors.settled().then(() => out.end()),
    stop.signal,
  );
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  return reply.type('application/json').send(out);
}

/** `since`/`until` as the CLI sends them (Unix seconds, with a fraction) or an RFC 3339 time. */
function dockerTime(text: string | undefined, name: string): Date | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms)) throw new DockerError(400, `invalid value for ${name}: ${text} (Unix seconds or an RFC 3339 time)`);
  return new Date(ms);
}

function picks(f: Filters, e: DockerEvent): boolean {
  const attrs = e.Actor.Attributes;
  const action = e.Action.split(':')[0]!;
  return (
    matchOne(f, 'type', (t) => t === e.Type) &&
    matchOne(f, 'event', (a) => a === e.Action || a === action) &&
    matchOne(f, 'scope', (s) => s === e.scope) &&
    matchOne(f, 'container', (c) => e.Type === 'container' && (c === attrs.name || (c.length > 0 && e.Actor.ID.startsWith(c)))) &&
    matchOne(f, 'image', (i) => sameImage(i, e.Type === 'image' ? e.Actor.ID : (attrs.image ?? ''))) &&
    matchLabels(f, attrs) &&
    matchOne(f, 'network', (n) => e.Type === 'network' && (n === attrs.name || (n.length > 0 && e.Actor.ID.startsWith(n)))) &&
    matchOne(f, 'volume', (v) => e.Type === 'volume' && v === e.Actor.ID) &&
    ['daemon', 'node', 'service', 'config', 'secret', 'plugin'].every((n) => !f.has(n))
  );
}

/** The same image, however either side spells it (`busybox`, `busybox:latest`, `docker.io/library/busybox`). */
function sameImage(a: string, b: string): boolean {
  const norm = (s: string) => {
    try {
      return familiarReference(parseReference(s));
    } catch {
      return s;
    }
  };
  return a === b || norm(a) === norm(b) || norm(a) === norm(b).replace(/:latest$/, '');
}

/**
 * The containers events name, as their Actors: read once, and again when an event names one not seen yet.
 * Each event is handled after the one before it, so they are written in the order they came.
 */
class Actors {
  private byId = new Map<string, EventContainer>();
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly ctx: DockerContext) {}

  async refresh(): Promise<void> {
    this.byId = new Map((await this.ctx.manager.list()).map((c) => [c.id, actorOf(c)]));
  }

  /** Calls `use` with `e`'s container, after every call before it. */
  then(e: EventRecord, use: (actor: EventContainer | undefined) => void): void {
    this.chain = this.chain.then(async () => {
      if (e.container_id !== null && !this.byId.has(e.container_id)) await this.refresh().catch(() => undefined);
      use(e.container_id === null ? undefined : this.byId.get(e.container_id));
    });
  }

  /** Once every lookup asked for so far is done. */
  settled(): Promise<unknown> {
    return this.chain;
  }
}

function actorOf(c: ContainerRecord): EventContainer {
  return { id: c.container_id, name: c.name, image: c.image, labels: c.labels, stopSignal: stopSignal(c.stop_signal ?? c.image_stop_signal ?? undefined) };
}
