/**
 * The networks behind `ContainerManager.networks` (model/network.ts): create, list, inspect, remove, prune,
 * and a container joining or leaving one. A network is a name containers share on the one bridge, so that
 * they find each other by name (network-hosts.ts writes their /etc/hosts); it moves no traffic of its own.
 * Changes to networks run on the GLOBAL queue (as the checks that span containers do), a container's
 * membership on its own queue too.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { failedPrecondition, HearthError, invalidArgument, notFound } from '../errors.ts';
import { DEFAULT_NETWORK, NETWORK_NAME_PATTERN, networkMessage, type ContainerRecord, type ContainerState, type EventType, type NetworkMembership, type NetworkRecord } from '../model/index.ts';
import { GLOBAL, type ContainerContext } from './context.ts';
import { refreshPeerHosts } from './network-hosts.ts';

/** A container on a network. */
export interface NetworkMember {
  id: string;
  name: string;
  container_id: string;
  state: ContainerState;
  guest_ip: string | null;
  aliases: string[];
}

export interface NetworkDetails extends NetworkRecord {
  members: NetworkMember[];
}

/** Names Docker keeps for networks of other drivers; Hearth has only the bridge. */
const RESERVED = new Set([DEFAULT_NETWORK, 'host', 'none', 'default']);
const NAME = new RegExp(NETWORK_NAME_PATTERN);

/** `bridge` has no row: it is the bridge itself, and its id is derived so that it never changes. */
const BRIDGE: NetworkRecord = {
  name: DEFAULT_NETWORK,
  id: createHash('sha256').update('hearth network bridge').digest('hex'),
  labels: {},
  created_at: new Date(0).toISOString(),
};

/** The networks a container is on: the ones it joined, or `bridge`. */
export const networksOf = (c: Pick<ContainerRecord, 'networks'>): NetworkMembership[] =>
  c.networks.length > 0 ? c.networks : [{ network: DEFAULT_NETWORK, aliases: [] }];

/** A network event: its type, the network, and what happened, as the start of its message. */
type NetworkEvent = [type: EventType, network: Pick<NetworkRecord, 'name' | 'id'>, what: string];

export class NetworkCommands {
  constructor(
    private readonly ctx: ContainerContext,
    /** The manager's gate for commands. */
    private readonly ready: () => Promise<void>,
  ) {}

  /** A new network; AlreadyExists for a name taken, FailedPrecondition for a reserved one, InvalidArgument for a malformed one. */
  async create(input: { name: string; labels?: Record<string, string> }): Promise<NetworkDetails> {
    await this.ready();
    const name = input.name;
    if (!NAME.test(name) || name.length > 128) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `invalid network name "${name}": a letter or digit, then letters, digits, _ . or - (at most 128)`, 'body/Name');
    }
    if (RESERVED.has(name)) throw failedPrecondition('HEARTH_ERR_NETWORK_PREDEFINED', `${name} is a pre-defined network name: choose another`);
    const record: NetworkRecord = { name, id: randomBytes(32).toString('hex'), labels: input.labels ?? {}, created_at: new Date().toISOString() };
    await this.ctx.queue.run(GLOBAL, async () => {
      await this.ctx.store.networks.insert(record);
      await this.event('network-create', record, 'created');
    });
    return { ...record, members: [] };
  }

  /** `bridge` first, then the others in the order they were made. */
  async list(): Promise<NetworkDetails[]> {
    const containers = await this.ctx.store.listContainers();
    return [BRIDGE, ...(await this.ctx.store.networks.list())].map((n) => ({ ...n, members: membersOf(n.name, containers) }));
  }

  /** By name, id or unique id prefix, as Docker finds one. */
  async inspect(ref: string): Promise<NetworkDetails> {
    const n = await this.find(ref);
    return { ...n, members: membersOf(n.name, await this.ctx.store.listContainers()) };
  }

  /** Removes a network no container joined (FailedPrecondition naming them otherwise); `bridge` stays. */
  async remove(ref: string): Promise<void> {
    await this.ready();
    await this.ctx.queue.run(GLOBAL, async () => {
      const n = await this.find(ref);
      if (n.name === DEFAULT_NETWORK) throw failedPrecondition('HEARTH_ERR_NETWORK_PREDEFINED', `${n.name} is a pre-defined network and cannot be removed`);
      const members = membersOf(n.name, await this.ctx.store.listContainers());
      if (members.length > 0) {
        throw failedPrecondition(
          'HEARTH_ERR_NETWORK_IN_USE',
          `network ${n.name} has containers on it: ${members.map((m) => `${m.name} (${m.state})`).join(', ')}; remove them or disconnect them first`,
        );
      }
      await this.ctx.store.networks.delete(n.name);
      await this.event('network-delete', n, 'removed');
    });
  }

  /** Removes every network no container joined; returns their names. */
  async prune(): Promise<string[]> {
    await this.ready();
    return this.ctx.queue.run(GLOBAL, async () => {
      const containers = await this.ctx.store.listContainers();
      const unused = (await this.ctx.store.networks.list()).filter((n) => membersOf(n.name, containers).length === 0);
      for (const n of unused) {
        await this.ctx.store.networks.delete(n.name);
        await this.event('network-delete', n, 'removed');
      }
      return unused.map((n) => n.name);
    });
  }

  /**
   * The memberships a new container asks for, checked: each network exists (NotFound otherwise), once.
   * `bridge` alone is no membership at all.
   */
  async check(asked: readonly NetworkMembership[]): Promise<NetworkMembership[]> {
    const out: NetworkMembership[] = [];
    for (const m of asked) {
      const n = await this.find(m.network);
      if (out.some((o) => o.network === n.name)) continue;
      out.push({ network: n.name, aliases: [...new Set(m.aliases)] });
    }
    return out.length === 1 && out[0]!.network === DEFAULT_NETWORK && out[0]!.aliases.length === 0 ? [] : out;
  }

  /**
   * The container joins the network, with `aliases` as further names there; in any state (a running one's
   * peers learn its names at once). AlreadyExists if it is on it already.
   */
  async connect(containerId: string, network: string, aliases: readonly string[]): Promise<void> {
    await this.ready();
    await this.membershipChange(containerId, async (c) => {
      const n = await this.find(network);
      if (networksOf(c).some((m) => m.network === n.name)) {
        throw new HearthError('AlreadyExists', 'HEARTH_ERR_NETWORK_MEMBER', `container ${c.name} is already on network ${n.name}`);
      }
      return { networks: [...c.networks, { network: n.name, aliases: [...new Set(aliases)] }], event: ['network-connect', n, `${c.name} (${c.container_id}) connected to`] };
    });
  }

  /**
   * The container leaves the network (NotFound if it is not on it); with none left it is on `bridge`, which it
   * cannot leave (FailedPrecondition).
   */
  async disconnect(containerId: string, network: string): Promise<void> {
    await this.ready();
    await this.membershipChange(containerId, async (c) => {
      const n = await this.find(network);
      if (!networksOf(c).some((m) => m.network === n.name)) {
        throw notFound('HEARTH_ERR_NETWORK_MEMBER', `container ${c.name} is not on network ${n.name}`);
      }
      const left = c.networks.filter((m) => m.network !== n.name);
      if (left.length === 0 && n.name === DEFAULT_NETWORK) {
        throw failedPrecondition('HEARTH_ERR_NETWORK_PREDEFINED', `container ${c.name} is on ${DEFAULT_NETWORK} only: a container's VM always has its interface on the bridge; connect it to another network first`);
      }
      return { networks: left, event: ['network-disconnect', n, `${c.name} (${c.container_id}) disconnected from`] };
    });
  }

  /** `next` gives the container's networks after the change, and the event that records it once it is made. */
  private async membershipChange(containerId: string, next: (c: ContainerRecord) => Promise<{ networks: NetworkMembership[]; event: NetworkEvent }>): Promise<void> {
    const { ctx } = this;
    const id = (await ctx.get(containerId)).id;
    await ctx.queue.run(id, () =>
      ctx.queue.run(GLOBAL, async () => {
        const c = await ctx.get(id);
        const { networks, event } = await next(c);
        await ctx.store.updateContainer(id, { networks });
        await this.event(...event);
        // its old peers forget it, its new ones learn of it, and it of them
        await refreshPeerHosts(ctx, [...c.networks, ...networks].map((m) => m.network), id);
      }),
    );
  }

  /**
   * Not a container's event even when one joins or leaves: a container's events go when it is deleted, and
   * the network's history stays. The container is named in the message (`web (<64 hex>) connected to`).
   */
  private async event(...[type, n, what]: NetworkEvent): Promise<void> {
    await this.ctx.store.addEvent({ container_id: null, network: n.name, type, from_state: null, to_state: null, message: networkMessage(what, n) });
  }

  private async find(ref: string): Promise<NetworkRecord> {
    if (ref === DEFAULT_NETWORK || ref === BRIDGE.id) return BRIDGE;
    const byName = await this.ctx.store.networks.get(ref);
    if (byName) return byName;
    const all = [BRIDGE, ...(await this.ctx.store.networks.list())];
    const byId = /^[0-9a-f]{1,64}$/.test(ref) ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byId.length === 1) return byId[0]!;
    if (byId.length > 1) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `network id prefix ${ref} is ambiguous: it begins ${byId.length} networks' ids`);
    throw notFound('HEARTH_ERR_NETWORK_NOT_FOUND', `network ${ref} not found`);
  }
}

function membersOf(network: string, containers: readonly ContainerRecord[]): NetworkMember[] {
  return containers.flatMap((c) => {
    const m = networksOf(c).find((x) => x.network === network);
    return m ? [{ id: c.id, name: c.name, container_id: c.container_id, state: c.state, guest_ip: c.guest_ip, aliases: m.aliases }] : [];
  });
}
