/**
 * Volumes through the Docker API (`docker volume create/ls/inspect/rm/prune`, Compose's named volumes): the
 * manager's volume commands, as /v1/volumes calls them, in Docker's shapes and words. One driver, `local`;
 * one option, `size` (the disk's capacity: `DriverOpts: {"size": "2g"}`).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { VolumeDetails } from '../../../containers/volume-commands.ts';
import { isHearthError } from '../../../errors.ts';
import type { DockerContext } from '../context.ts';
import { DockerError, invalidParameter, notImplemented } from '../errors.ts';
import { booleanFilter, matchLabels, matchOne, parseFilters } from '../filter-args.ts';
import { dockerVolume, parseSizeMib } from '../shapes/volume.ts';
import { atLeast } from '../version.ts';

interface CreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
type Name = { Params: { name: string }; Querystring: { force?: string } };

export function volumeRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const volumes = ctx.manager.volumes;

  app.post<{ Body: CreateBody | undefined }>('/volumes/create', async (req, reply) => reply.status(201).send(dockerVolume(await create(ctx, req.body ?? {}))));

  app.get<{ Querystring: { filters?: string } }>('/volumes', async (req) => {
    const filters = parseFilters(req.query.filters, ['dangling', 'driver', 'label', 'name']);
    const dangling = booleanFilter(filters, 'dangling');
    const picked = (await volumes.list()).filter(
      (v) =>
        (dangling === undefined || (v.users.length === 0) === dangling) &&
        matchOne(filters, 'driver', (d) => d === 'local') &&
        matchOne(filters, 'name', (n) => v.name.includes(n)) &&
        matchLabels(filters, dockerVolume(v).Labels),
    );
    return { Volumes: picked.map(dockerVolume), Warnings: [] };
  });

  app.get<Name>('/volumes/:name', async (req) => dockerVolume(await inspect(ctx, req.params.name)));

  app.delete<Name>('/volumes/:name', async (req, reply) => {
    const force = req.query.force === '1' || req.query.force === 'true';
    try {
      await volumes.remove(req.params.name);
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_VOLUME_NOT_FOUND')) {
        if (!force) throw noSuchVolume(req.params.name);
      } else if (isHearthError(e, 'HEARTH_ERR_VOLUME_IN_USE')) {
        const users = (await volumes.inspect(req.params.name)).users.map((u) => u.id);
        throw new DockerError(409, `remove ${req.params.name}: volume is in use - [${users.join(', ')}] (${e.message})`);
      } else throw e;
    }
    return reply.status(204).send();
  });

  app.post<{ Querystring: { filters?: string } }>('/volumes/prune', (req) => prune(ctx, req));
  app.put('/volumes/:name', async (req) => Promise.reject(notImplemented('PUT', req.url, 'cluster volumes are Swarm\'s; Hearth has none')));
}

const noSuchVolume = (name: string) => new DockerError(404, `get ${name}: no such volume`);

async function inspect(ctx: DockerContext, name: string): Promise<VolumeDetails> {
  try {
    return await ctx.manager.volumes.inspect(name);
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_VOLUME_NOT_FOUND')) throw noSuchVolume(name);
    throw e;
  }
}

/** As dockerd: a name that exists gives that volume back (Compose and scripts create before they use). */
async function create(ctx: DockerContext, body: CreateBody): Promise<VolumeDetails> {
  if (body.Driver && body.Driver !== 'local') throw invalidParameter(`volume driver ${body.Driver} is not supported by Hearth: its volumes are local disks (driver local)`);
  let sizeMib: number | undefined;
  for (const [k, v] of Object.entries(body.DriverOpts ?? {})) {
    if (k !== 'size') throw invalidParameter(`volume option ${k} is not supported by Hearth (only size, e.g. size=2g: a Hearth volume is a disk of its own)`);
    sizeMib = parseSizeMib(v);
    if (sizeMib === undefined) throw invalidParameter(`volume option size=${v} is not a size (e.g. 512m, 2g)`);
  }
  const name = body.Name || randomBytes(32).toString('hex');
  try {
    return await ctx.manager.volumes.create({ name, ...(sizeMib ? { size_mib: sizeMib } : {}), labels: body.Labels ?? {}, driver_options: body.DriverOpts ?? {} });
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_VOLUME_EXISTS')) return inspect(ctx, name);
    if (isHearthError(e) && e.kind === 'InvalidArgument') throw invalidParameter(e.message);
    throw e;
  }
}

/**
 * `docker volume prune`: since API 1.42 only anonymous volumes unless `all=true` (as dockerd); before it,
 * every volume no container uses. A Hearth anonymous volume belongs to its container and goes with it, so
 * without `all` there is seldom anything to prune.
 */
async function prune(ctx: DockerContext, req: FastifyRequest<{ Querystring: { filters?: string } }>) {
  const filters = parseFilters(req.query.filters, ['label', 'all']);
  const all = booleanFilter(filters, 'all') ?? !atLeast(req.raw, '1.42');
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const v of await ctx.manager.volumes.list()) {
    if (v.users.length > 0 || (!all && v.anonymous_for === null) || !matchLabels(filters, dockerVolume(v).Labels)) continue;
    try {
      await ctx.manager.volumes.remove(v.name);
    } catch (e) {
      // used or removed meanwhile: not this prune's
      if (isHearthError(e, 'HEARTH_ERR_VOLUME_IN_USE') || isHearthError(e, 'HEARTH_ERR_VOLUME_NOT_FOUND')) continue;
      throw e;
    }
    deleted.push(v.name);
    reclaimed += v.usage.diskBytes;
  }
  return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
}
