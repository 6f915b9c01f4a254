/**
 * `ContainerNetwork` on the real host, from src/network's parts: addresses from the AddressPool (the set in
 * use is kept here and re-filled by `reserve` after a manager restart), one tap per VM on the bridge
 * (HostNetwork, named by `tapNameFor`) that may send only as the VM's address and receives only the VM's
 * traffic, and port forwards (PortForwarder). The bridge, its anti-spoofing table and NAT are set up once at
 * start by ./host-deps.ts (`ensureBridge`, `enableNat`).
 * @module
 */
import { linkCounters, tapNameFor, type HostNetwork, type PortForwarder } from '../network/index.ts';
import type { ContainerNetwork, NetworkAttachment, NetworkCounters, PortHandle, PortRule } from '../containers/deps.ts';

export class HostContainerNetwork implements ContainerNetwork {
  /** guest address -> VM id */
  private readonly inUse = new Map<string, string>();

  constructor(
    private readonly host: HostNetwork,
    private readonly forwarder: PortForwarder,
  ) {}

  async attach(vmId: string): Promise<NetworkAttachment> {
    const address = this.host.pool.allocate(this.inUse.keys());
    this.inUse.set(address.guestIp, vmId);
    const tap = tapNameFor(vmId);
    try {
      await this.host.createTap(tap, address);
    } catch (e) {
      this.inUse.delete(address.guestIp);
      throw e;
    }
    return { tap, ...address };
  }

  /**
   * Also binds the tap to its address again (`allowGuest`: what it may send, and that only frames to its
   * guest reach it): start-up keeps the entries and port settings of existing taps, but after an upgrade
   * from a version without them, or a flushed nft ruleset, the store is the only record left.
   */
  async reserve(vmId: string, a: NetworkAttachment): Promise<void> {
    this.inUse.set(a.guestIp, vmId);
    await this.host.allowGuest(a.tap, a);
  }

  async detach(vmId: string, a: NetworkAttachment): Promise<void> {
    try {
      await this.host.deleteTap(a.tap);
    } finally {
      // The address is free either way: a tap left behind holds none, and the recovery sweep deletes it.
      if (this.inUse.get(a.guestIp) === vmId) this.inUse.delete(a.guestIp);
    }
  }

  listTaps(): Promise<string[]> {
    return this.host.listTaps();
  }

  deleteTap(name: string): Promise<void> {
    return this.host.deleteTap(name);
  }

  openPort(rule: PortRule): Promise<PortHandle> {
    return this.forwarder.open(rule);
  }

  /** The tap's counters turned around: what the tap sent is what the guest received. */
  async counters(a: NetworkAttachment): Promise<NetworkCounters | null> {
    const tap = await linkCounters(a.tap);
    if (!tap) return null;
    return {
      rx_bytes: tap.txBytes,
      rx_packets: tap.txPackets,
      rx_errors: tap.txErrors,
      rx_dropped: tap.txDropped,
      tx_bytes: tap.rxBytes,
      tx_packets: tap.rxPackets,
      tx_errors: tap.rxErrors,
      tx_dropped: tap.rxDropped,
    };
  }
}
