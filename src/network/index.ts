/**
 * @module
 * Guest networking on the host: `AddressPool` (addresses and MACs, pure), `HostNetwork` (bridge, taps, the
 * taps' anti-spoofing entries and isolation, NAT; the only code that changes host network configuration) and
 * `PortForwarder` (host ports relayed to guests); `linkCounters` reads an interface's traffic counters.
 */
export { AddressPool, DEFAULT_POOL_CIDR, macForIp, type GuestAddress } from './address-pool.ts';
export { DEFAULT_BRIDGE, HostNetwork, NAT_TABLE, TAP_PREFIX, tapNameFor, type HostNetworkOptions } from './host-network.ts';
export { linkCounters, type LinkCounters } from './link-counters.ts';
export {
  PortForwarder,
  type OpenedMapping,
  type PortForward,
  type PortForwarderOptions,
  type PortMapping,
  type PortProtocol,
} from './port-forwarder.ts';
