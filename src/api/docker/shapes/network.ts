/**
 * Networks as Docker shows them (`GET /networks`, `/networks/{id}`), and what a container create asks of
 * them (a container's own `NetworkSettings.Networks` is shapes/container.ts's). Every network is the one bridge
 * (model/network.ts): each shows the bridge's subnet and gateway, and `bridge.name` the host's bridge. A
 * container's endpoint on a network exists while it has an address (as on dockerd, where only a running
 * container has one).
 * @module
 */
import { createHash } from 'node:crypto';
import type { NetworkDetails, NetworkMember } from '../../../containers/network-commands.ts';
import { DEFAULT_NETWORK, type NetworkMembership } from '../../../model/index.ts';
import { AddressPool, macForIp } from '../../../network/index.ts';
import { DockerError } from '../errors.ts';

/** The host's bridge, as the manager's configuration names it. */
export interface BridgeFacts {
  bridge: string;
  subnet: string;
}

/** An endpoint's id: fixed for a container on a network, as Docker keeps one per connection. */
const endpointId = (networkId: string, containerId: string) => createHash('sha256').update(`${networkId}/${containerId}`).digest('hex');

export function dockerNetwork(n: NetworkDetails, facts: BridgeFacts, withContainers: boolean) {
  const pool = new AddressPool(facts.subnet);
  const members = withContainers ? n.members.filter((m) => m.guest_ip !== null) : [];
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created_at,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: pool.cidr, Gateway: pool.gateway }] },
    Internal: false,
    Attachable: n.name !== DEFAULT_NETWORK,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(members.map((m) => [m.container_id, endpoint(n.id, m, pool)])),
    Options: n.name === DEFAULT_NETWORK ? { 'com.docker.network.bridge.name': facts.bridge } : {},
    Labels: n.labels,
  };
}

function endpoint(networkId: string, m: NetworkMember, pool: AddressPool) {
  return {
    Name: m.name,
    EndpointID: endpointId(networkId, m.container_id),
    MacAddress: macForIp(m.guest_ip!),
    IPv4Address: `${m.guest_ip}/${pool.prefixLength}`,
    IPv6Address: '',
  };
}

/** What a create's `HostConfig.NetworkMode` and `NetworkingConfig.EndpointsConfig` ask for. */
export interface CreateNetworking {
  NetworkMode?: string;
  EndpointsConfig?: Record<string, { Aliases?: string[] | null } | null> | null;
}

/**
 * The networks a created container joins: `NetworkMode` (`default`, `bridge` or empty: the bridge; a
 * network's name) and every network of `EndpointsConfig`, with their aliases. `host`, `none` and
 * `container:<id>` are refused: a Hearth container has a VM and a NIC of its own, always on the bridge.
 */
export function createMemberships(n: CreateNetworking): NetworkMembership[] {
  const mode = n.NetworkMode ?? '';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
    throw new DockerError(400, `HostConfig.NetworkMode "${mode}" is not supported by Hearth: each container is a VM with its own network interface on the bridge`);
  }
  // the CLI names the bridge `default`, as its network mode
  const named = (name: string) => (name === '' || name === 'default' ? DEFAULT_NETWORK : name);
  const out: NetworkMembership[] = [{ network: named(mode), aliases: [] }];
  for (const [name, endpoint] of Object.entries(n.EndpointsConfig ?? {})) {
    const network = named(name);
    const aliases = endpoint?.Aliases ?? [];
    const known = out.find((m) => m.network === network);
    if (known) known.aliases.push(...aliases.filter((a) => !known.aliases.includes(a)));
    else out.push({ network, aliases: [...aliases] });
  }
  return out;
}
