/**
 * Networks through the Docker API, as far as Compose needs them: `bridge` (the host's bridge and pool), and
 * networks made by `docker network create` or Compose (`<project>_default`) that all map onto that one
 * bridge. Containers on such a network find each other by name and alias (containers/network-hosts.ts);
 * traffic is not kept apart (every container can reach every other, as on `bridge`). Anything that would
 * need a segment of its own (another driver, a subnet, internal, IPv6, options) is refused naming why.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { isHearthError } from '../../../errors.ts';
import type { ContainerRecord } from '../../../model/index.ts';
import type { DockerContext } from '../context.ts';
import { DockerError, invalidParameter, noSuchContainer } from '../errors.ts';
import { matchLabels, matchOne, parseFilters } from '../filter-args.ts';
import { dockerNetwork, type BridgeFacts } from '../shapes/network.ts';

interface CreateBody {
  Name?: string;
  Driver?: string | null;
  Internal?: boolean | null;
  Ingress?: boolean | null;
  EnableIPv6?: boolean | null;
  ConfigOnly?: boolean | null;
  ConfigFrom?: { Network?: string } | null;
  Scope?: string | null;
  IPAM?: { Driver?: string | null; Config?: unknown[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
interface MemberBody {
  Container?: string;
  EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null } | null;
  Force?: boolean;
}
type Id = { Params: { id: string } };

export function networkRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const networks = ctx.manager.networks;
  const facts: BridgeFacts = { bridge: ctx.config.network.bridge, subnet: ctx.config.network.subnet };

  app.get<{ Querystring: { filters?: string } }>('/networks', async (req) => {
    const f = parseFilters(req.query.filters, ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling']);
    const picked = (await networks.list()).filter(
      (n) =>
        matchOne(f, 'driver', (d) => d === 'bridge') &&
        matchOne(f, 'id', (id) => n.id.startsWith(id)) &&
        matchOne(f, 'name', (name) => n.name.includes(name)) &&
        matchOne(f, 'scope', (s) => s === 'local') &&
        matchOne(f, 'type', (t) => t === (n.name === 'bridge' ? 'builtin' : 'custom')) &&
        // As dockerd: the built-in network is never dangling (nor pruned), used or not.
        matchOne(f, 'dangling', (d) => (d === 'true' || d === '1') === (n.members.length === 0 && n.name !== 'bridge')) &&
        matchLabels(f, n.labels),
    );
    return picked.map((n) => dockerNetwork(n, facts, false));
  });

  app.get<Id>('/networks/:id', async (req) => dockerNetwork(await find(ctx, req.params.id), facts, true));

  app.post<{ Body: CreateBody | undefined }>('/networks/create', async (req, reply) => {
    const body = req.body ?? {};
    checkCreate(body, facts);
    try {
      const n = await networks.create({ name: body.Name!, labels: body.Labels ?? {} });
      return reply.status(201).send({ Id: n.id, Warning: '' });
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_NETWORK_EXISTS')) throw new DockerError(409, `network with name ${body.Name} already exists`);
      if (isHearthError(e, 'HEARTH_ERR_NETWORK_PREDEFINED')) throw new DockerError(403, `operation is not permitted on predefined ${body.Name} network`);
      if (isHearthError(e) && e.kind === 'InvalidArgument') throw invalidParameter(e.message);
      throw e;
    }
  });

  app.delete<Id>('/networks/:id', async (req, reply) => {
    const n = await find(ctx, req.params.id);
    try {
      await networks.remove(n.id);
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_NETWORK_PREDEFINED')) throw new DockerError(403, `${n.name} is a pre-defined network and cannot be removed`);
      if (isHearthError(e, 'HEARTH_ERR_NETWORK_IN_USE')) throw new DockerError(403, `error while removing network: network ${n.name} id ${n.id} has active endpoints (${e.message})`);
      throw e;
    }
    return reply.status(204).send();
  });

  app.post<Id & { Body: MemberBody | undefined }>('/networks/:id/connect', async (req, reply) => {
    const n = await find(ctx, req.params.id);
    const c = await findContainer(ctx, req.body?.Container);
    const ipam = req.body?.EndpointConfig?.IPAMConfig;
    if (ipam?.IPv4Address || ipam?.IPv6Address) {
      throw invalidParameter('a fixed address is not supported by Hearth: the manager gives each VM its address from the bridge pool');
    }
    try {
      await networks.connect(c.id, n.name, req.body?.EndpointConfig?.Aliases ?? []);
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_NETWORK_MEMBER')) throw new DockerError(403, `endpoint with name ${c.name} already exists in network ${n.name}`);
      throw e;
    }
    return reply.status(200).send();
  });

  app.post<Id & { Body: MemberBody | undefined }>('/networks/:id/disconnect', async (req, reply) => {
    const n = await find(ctx, req.params.id);
    const c = await findContainer(ctx, req.body?.Container);
    try {
      await networks.disconnect(c.id, n.name);
    } catch (e) {
      if (isHearthError(e, 'HEARTH_ERR_NETWORK_PREDEFINED')) throw new DockerError(403, e.message);
      if (!isHearthError(e, 'HEARTH_ERR_NETWORK_MEMBER')) throw e;
      if (!req.body?.Force) throw new DockerError(403, `container ${c.container_id} is not connected to network ${n.name}`);
    }
    return reply.status(200).send();
  });

  app.post<{ Querystring: { filters?: string } }>('/networks/prune', async (req) => {
    parseFilters(req.query.filters, ['label', 'until']);
    return { NetworksDeleted: await networks.prune() };
  });
}

async function find(ctx: DockerContext, ref: string) {
  try {
    return await ctx.manager.networks.inspect(ref);
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_NETWORK_NOT_FOUND')) throw new DockerError(404, `network ${ref} not found`);
    throw e;
  }
}

/** A container by name, id or unique id prefix. */
async function findContainer(ctx: DockerContext, ref: string | undefined): Promise<ContainerRecord> {
  if (!ref) throw invalidParameter('Container is required (the container to connect or disconnect)');
  const all = await ctx.manager.list();
  const exact = all.find((c) => c.name === ref || c.name === ref.replace(/^\//, '') || c.container_id === ref);
  if (exact) return exact;
  const byPrefix = all.filter((c) => c.container_id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0]!;
  throw noSuchContainer(ref);
}

/** What a create may ask: the defaults of a bridge network, a name and labels. */
function checkCreate(b: CreateBody, facts: BridgeFacts): void {
  if (!b.Name) throw invalidParameter('Name is required');
  const refuse = (what: string) =>
    invalidParameter(
      `network ${b.Name}: ${what} is not supported by Hearth: every network is the one bridge ${facts.bridge} (${facts.subnet}), where containers on the same network find each other by name`,
    );
  if (b.Driver && b.Driver !== 'bridge') throw refuse(`driver ${b.Driver}`);
  if (b.Internal) throw refuse('an internal network');
  if (b.Ingress) throw refuse('an ingress network');
  if (b.EnableIPv6) throw refuse('IPv6');
  if (b.ConfigOnly || b.ConfigFrom?.Network) throw refuse('a configuration-only network');
  if (b.Scope && b.Scope !== 'local') throw refuse(`scope ${b.Scope}`);
  if ((b.IPAM?.Driver && b.IPAM.Driver !== 'default') || (b.IPAM?.Config?.length ?? 0) > 0 || Object.keys(b.IPAM?.Options ?? {}).length > 0) {
    throw refuse('an address plan (IPAM) of its own');
  }
  const options = Object.keys(b.Options ?? {});
  if (options.length > 0) throw refuse(`driver options (${options.join(', ')})`);
}
