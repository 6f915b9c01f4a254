/**
 * Containers as records: create (Docker's create: recorded, not started, its image already here or a 404
 * the CLI answers with a pull), list (`docker ps` and its filters), inspect, remove, rename, top.
 * @module
 */
import { randomInt } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { writableLayerPath } from '../../../containers/run.ts';
import { isHearthError } from '../../../errors.ts';
import type { ContainerRecord } from '../../../model/index.ts';
import type { DockerContext } from '../context.ts';
import { conflict, invalidParameter, nameInUse } from '../errors.ts';
import { findImage } from '../image-lookup.ts';
import { FactsSource, findContainer, resolveContainer, withContainer } from '../resolve.ts';
import { toDockerInspect, toDockerSummary } from '../shapes/container.ts';
import { repoDigests } from '../shapes/image.ts';
import { fromDockerCreate, parsePort, type CreateSettings } from '../shapes/create.ts';
import { matchesFilters, parseFilters } from '../shapes/filters.ts';
import { topTable } from '../shapes/top.ts';
import { boolParam, intParam } from './params.ts';

type Ref = { Params: { id: string }; Querystring: Record<string, string | undefined> };

const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function containerRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const { manager } = ctx;

  app.post<{ Querystring: { name?: string; platform?: string }; Body: unknown }>('/containers/create', async (req, reply) => {
    const wanted = req.query.name;
    if (wanted !== undefined && wanted !== '' && !NAME.test(wanted)) {
      throw invalidParameter(`Invalid container name (${wanted}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const platform = req.query.platform ?? '';
    if (platform !== '' && !platform.startsWith('linux')) throw invalidParameter(`platform ${platform} is not supported by Hearth: linux only`);
    const settings = fromDockerCreate(req.body);
    // By reference, or by ID as `docker run $(docker images -q app)` names it; a container names its image
    // by reference, so one given by ID is pinned to its digest under a name it has.
    const found = await findImage(ctx.images, settings.image);
    const image = found.details;
    if (found.ref === undefined) {
      const pinned = repoDigests(image)[0];
      if (pinned === undefined) throw invalidParameter(`image ${settings.image} has no name a container could refer to it by: tag it first (docker tag)`);
      settings.image = pinned;
    }
    const all = await manager.list();
    const name = wanted ? wanted.replace(/^\//, '') : freeName(all);
    const holder = all.find((c) => c.name === name);
    if (holder) throw nameInUse(name, holder.container_id);
    const published = settings.publish_all
      ? [...new Set([...settings.exposed_ports, ...image.config.exposedPorts])].map((key) => ({ ...parsePort(key.includes('/') ? key : `${key}/tcp`), free: true }))
      : [];
    const port_mappings: CreateSettings['port_mappings'] = [
      ...settings.port_mappings,
      ...published
        .filter((p) => !settings.port_mappings.some((m) => m.container_port === p.port && m.protocol === p.protocol))
        .map((p) => ({ container_port: p.port, host_port: 0, protocol: p.protocol })),
    ];
    for (const m of port_mappings) {
      if (m.host_range) m.host_port = await freePortIn(m.host_range, m.protocol, m.container_port, all);
      else if (m.host_port === 0) m.host_port = await freePort(m.protocol);
      delete m.host_range;
    }
    const { publish_all: _p, exposed_ports: _e, bind_sources, restart_max_retries, ...rest } = settings;
    // `-v /host/dir:/path` makes a missing host directory, as dockerd does; something else there is left for
    // the create to refuse, naming it.
    for (const dir of bind_sources) await mkdir(dir, { recursive: true }).catch(() => undefined);
    try {
      const c = await manager.create(
        {
          ...rest,
          name,
          port_mappings,
          ...(settings.restart_policy === 'on-failure' ? { restart_max_retries } : {}),
        },
        { start: false },
      );
      return reply.code(201).send({ Id: c.container_id, Warnings: [] });
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_NAME_IN_USE')) {
        const taken = (await manager.list()).find((c) => c.name === name);
        throw nameInUse(name, taken?.container_id ?? '');
      }
      throw e;
    }
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/containers/json', async (req) => {
    const all = boolParam(req.query.all);
    const limit = intParam(req.query.limit, 'limit', -1);
    const filters = parseFilters(req.query.filters);
    const source = new FactsSource(ctx);
    // Newest first, as dockerd lists them.
    const list = (await manager.list()).sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
    const withFacts = await Promise.all(list.map(async (c) => ({ c, facts: await source.facts(c) })));
    const bound = async (key: 'before' | 'since') => {
      const ref = filters.get(key)?.at(-1);
      return ref === undefined ? {} : { [key]: await resolveContainer(ctx, ref) };
    };
    const bounds = { ...(await bound('before')), ...(await bound('since')) };
    let rows = withFacts.filter(({ c, facts }) => matchesFilters(c, facts, filters, all || limit > 0 || filters.has('status'), bounds));
    if (limit > 0) rows = rows.slice(0, limit);
    const size = boolParam(req.query.size);
    return Promise.all(
      rows.map(async ({ c, facts }) => ({
        ...toDockerSummary(c, facts),
        ...(size ? await sizes(ctx, c) : {}),
      })),
    );
  });

  app.get<Ref>('/containers/:id/json', async (req) => {
    const c = await resolveContainer(ctx, req.params.id);
    const facts = await new FactsSource(ctx).facts(c);
    return { ...toDockerInspect(c, facts), ...(boolParam(req.query.size) ? await sizes(ctx, c) : {}) };
  });

  app.delete<Ref>('/containers/:id', async (req, reply) => {
    if (boolParam(req.query.link)) throw invalidParameter('links are not supported by Hearth');
    await withContainer(ctx, req.params.id, async (c) => {
      const restarting = manager.restartPending(c.id);
      if (!boolParam(req.query.force) && (restarting || c.state === 'running' || c.state === 'paused' || c.state === 'recovering' || c.state === 'unresponsive')) {
        const what = restarting ? 'restarting' : c.state === 'paused' ? 'paused' : 'running';
        throw conflict(`cannot remove container "/${c.name}": container is ${what}: stop the container before removing or force remove`);
      }
      await manager.remove(c.id);
    });
    return reply.code(204).send();
  });

  app.post<Ref>('/containers/:id/rename', async (req, reply) => {
    const name = req.query.name ?? '';
    if (!NAME.test(name)) throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const newName = name.replace(/^\//, '');
    await withContainer(ctx, req.params.id, async (c) => {
      const holder = findContainer(await manager.list(), newName);
      if (holder && holder.name === newName && holder.id !== c.id) throw nameInUse(newName, holder.container_id);
      if (c.name === newName) throw invalidParameter(`Renaming a container with the same name as its current name`);
      await manager.rename(c.id, newName);
    });
    return reply.code(204).send();
  });

  app.get<Ref>('/containers/:id/top', async (req) => {
    const psArgs = req.query.ps_args ?? '';
    topTable(psArgs, []); // refused options are a 400 before the container is looked at
    return withContainer(ctx, req.params.id, async (c) => topTable(psArgs, await manager.top(c.id)));
  });
}

/** SizeRw: what the writable layer takes on disk; SizeRootFs adds nothing known of the image here (0 when unknown). */
export async function sizes(ctx: DockerContext, c: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
  const layer = await stat(writableLayerPath(`${ctx.config.dataDir}/containers`, c.id)).catch(() => undefined);
  const rw = layer ? layer.blocks * 512 : 0;
  const image = await new FactsSource(ctx).facts(c);
  const summary = image.imageId ? (await ctx.images.list()).find((i) => i.configDigest === image.imageId) : undefined;
  return { SizeRw: rw, SizeRootFs: rw + (summary?.size ?? 0) };
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'gentle', 'happy', 'keen', 'lucid', 'merry', 'quiet', 'sharp', 'warm'];
const NAMES = ['ada', 'babbage', 'curie', 'dijkstra', 'euler', 'hopper', 'knuth', 'lamport', 'noether', 'ritchie', 'turing', 'wirth'];

/** A Docker-like name (`brave_turing`) no container has, a number added after a few tries. */
function freeName(all: readonly ContainerRecord[]): string {
  const taken = new Set(all.map((c) => c.name));
  for (let i = 0; ; i++) {
    const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NAMES[randomInt(NAMES.length)]}${i >= 10 ? randomInt(1000) : ''}`;
    if (!taken.has(name)) return name;
  }
}

/** A host port nothing listens on now, for `-p 80` and `-P` (dockerd picks from its ephemeral range the same way). */
function freePort(protocol: 'tcp' | 'udp'): Promise<number> {
  if (protocol === 'udp') return Promise.resolve(32768 + randomInt(28000));
  return listenable(0) as Promise<number>;
}

/** The first port of `[low, high]` no container maps and (tcp) nothing listens on, as dockerd picks one. */
async function freePortIn([low, high]: [number, number], protocol: 'tcp' | 'udp', containerPort: number, all: readonly ContainerRecord[]): Promise<number> {
  const mapped = new Set(all.flatMap((c) => c.port_mappings.filter((m) => m.protocol === protocol).map((m) => m.host_port)));
  for (let p = low; p <= high; p++) {
    if (mapped.has(p)) continue;
    if (protocol === 'udp' || (await listenable(p)) !== undefined) return p;
  }
  throw conflict(`Bind for ${low}-${high} failed: no port of the range is free for ${containerPort}/${protocol}`);
}

/** Listens on `port` (0: any) and lets it go: the port it got, or undefined if it is taken. */
function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}
