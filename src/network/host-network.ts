/**
 * The host side of guest networking, and the only code that changes the host's network configuration:
 *
 *   bridge (default `fcbr0`, address = pool gateway/prefix)
 *     ├── hth<12 hex>   tap of VM 1 (hearth-jailer opens it and hands it to QEMU)
 *     └── hth<12 hex>   tap of VM 2
 *   nft `table bridge hearth`  each tap may send only from its guest's MAC and IP (tap-guard.ts)
 *   each tap: no learning, no unicast flood, its guest's MAC pinned to it in the FDB (port-isolation.ts)
 *   nft `table ip hearth`  masquerade for the pool's subnet leaving through any other interface (when NAT is on)
 *
 * Everything is idempotent, so a restarted manager runs it again at start. Nothing else on the host is
 * touched: only the bridge of our name, interfaces with our tap prefix, and our own nft tables. The one
 * exception is `net.ipv4.ip_forward`, a setting of the whole network namespace, which `enableNat` turns on.
 *
 * The host reaches every guest directly at its IP (the bridge holds the gateway address, so the pool's subnet
 * is a connected route); NAT only matters for guests reaching beyond the host.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { HearthError, isHearthError } from '../errors.ts';
import * as ipTool from '../tools/ip.ts';
import { nftDeleteTable, nftListTable, nftReplaceTable, type NftTableRef } from '../tools/nft.ts';
import { AddressPool, macForIp, type GuestAddress } from './address-pool.ts';
import { ISOLATED_PORT, isolatePort, pinGuestMac } from './port-isolation.ts';
import { allowTapSender, ensureTapGuard, forgetTaps, listTapSenders, removeTapGuard } from './tap-guard.ts';

/** Every tap Hearth creates starts with this; nothing else on the host should. */
export const TAP_PREFIX = 'hth';
export const DEFAULT_BRIDGE = 'fcbr0';
/** The nft table that holds all of Hearth's rules. */
export const NAT_TABLE: NftTableRef = { family: 'ip', name: 'hearth' };

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/**
 * The tap name of a VM: `hth` + the first 12 hex digits of sha256(vmId), 15 characters (IFNAMSIZ - 1).
 * Hashed rather than cut from the id because time-ordered ids (uuid v7) share their leading digits.
 */
export function tapNameFor(vmId: string): string {
  return TAP_PREFIX + createHash('sha256').update(vmId).digest('hex').slice(0, 12);
}

export interface HostNetworkOptions {
  /** Bridge name; default `fcbr0`. */
  bridge?: string;
  pool?: AddressPool;
}

export class HostNetwork {
  readonly bridge: string;
  readonly pool: AddressPool;

  constructor(options: HostNetworkOptions = {}) {
    this.bridge = options.bridge ?? DEFAULT_BRIDGE;
    ipTool.assertInterfaceName(this.bridge);
    if (this.bridge.startsWith(TAP_PREFIX)) {
      throw new HearthError(
        'InvalidArgument',
        'HEARTH_ERR_NET_INVALID_NAME',
        `the bridge name "${this.bridge}" must not start with the tap prefix "${TAP_PREFIX}"`,
        { field: 'bridge' },
      );
    }
    this.pool = options.pool ?? new AddressPool();
  }

  /**
   * Makes sure the bridge exists, holds `gateway/prefix` and is up.
   * - missing: checks no host route already covers the pool (HEARTH_ERR_NET_SUBNET_CONFLICT), then creates it
   *   with a fixed MAC (`macForIp(gateway)`); a bridge without one takes the lowest MAC of its ports, so the
   *   gateway's MAC would change under the guests' ARP caches whenever taps come and go;
   * - present with the gateway address: left as it is (only brought up if it is down);
   * - present without any IPv4 address: the gateway address is added;
   * - present with other IPv4 addresses, or not a bridge: FailedPrecondition (HEARTH_ERR_NET_BRIDGE_CONFLICT).
   * Then loads the anti-spoofing table (`table bridge hearth`) and drops the entries of taps that no longer
   * exist; the entries of those that do are kept, so guests still running after a restart keep sending.
   */
  async ensureBridge(): Promise<void> {
    let link = await ipTool.getLink(this.bridge);
    if (link === undefined) {
      await this.#assertSubnetFree();
      try {
        await ipTool.addBridge(this.bridge);
        await ipTool.setLink(this.bridge, { mac: macForIp(this.pool.gateway) });
      } catch (e) {
        if (!isHearthError(e, 'HEARTH_ERR_NET_LINK_EXISTS')) throw e; // created concurrently
      }
      link = await ipTool.getLink(this.bridge);
      if (link === undefined) throw new HearthError('Internal', 'HEARTH_ERR_NET_BRIDGE_CONFLICT', `bridge ${this.bridge} vanished`);
    }
    if (link.kind !== 'bridge') {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_NET_BRIDGE_CONFLICT',
        `${this.bridge} exists and is not a bridge (${link.kind ?? 'plain device'}); choose another bridge name`,
      );
    }
    const v4 = (await ipTool.listAddresses(this.bridge)).filter((a) => a.family === 'inet');
    const ours = v4.some((a) => a.local === this.pool.gateway && a.prefixLength === this.pool.prefixLength);
    if (!ours) {
      if (v4.length > 0) {
        const have = v4.map((a) => `${a.local}/${a.prefixLength}`).join(', ');
        throw new HearthError(
          'FailedPrecondition',
          'HEARTH_ERR_NET_BRIDGE_CONFLICT',
          `bridge ${this.bridge} has ${have}, not ${this.pool.gateway}/${this.pool.prefixLength}; ` +
            `set the network pool to match it or choose another bridge name`,
        );
      }
      await this.#assertSubnetFree();
      try {
        await ipTool.addAddress(this.bridge, this.pool.gateway, this.pool.prefixLength);
      } catch (e) {
        if (!isHearthError(e, 'HEARTH_ERR_NET_LINK_EXISTS')) throw e; // added concurrently
      }
    }
    if (!link.up) await ipTool.setLink(this.bridge, { up: true });
    await ensureTapGuard(TAP_PREFIX);
    const links = new Set((await ipTool.listLinks()).map((l) => l.name));
    await forgetTaps((await listTapSenders()).map((s) => s.tap).filter((t) => !links.has(t)));
  }

  /**
   * Deletes the bridge if it exists, and the anti-spoofing table once no Hearth tap is left on the host.
   * Refuses (FailedPrecondition) while anything is still attached to the bridge.
   * For uninstall and tests; the manager normally leaves the bridge in place.
   */
  async removeBridge(): Promise<void> {
    const link = await ipTool.getLink(this.bridge);
    if (link === undefined) return;
    if (link.kind !== 'bridge') return; // not ours
    const ports = (await ipTool.listLinks()).filter((l) => l.master === this.bridge).map((l) => l.name);
    if (ports.length > 0) {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_NET_BRIDGE_IN_USE',
        `bridge ${this.bridge} still has ${ports.join(', ')} attached`,
      );
    }
    await this.#ignoreMissing(ipTool.deleteLink(this.bridge));
    if ((await this.listTaps()).length === 0) await removeTapGuard();
  }

  /**
   * Creates a persistent tap `name` (owned by root, single queue), attaches it to the bridge, binds it to
   * `guest` (`allowGuest`) and sets it up. Idempotent: an existing tap of that name is attached, bound and
   * brought up. The bridge must exist (`ensureBridge`), else FailedPrecondition (HEARTH_ERR_NET_NO_BRIDGE).
   * A non-tap interface of that name is AlreadyExists (HEARTH_ERR_NET_LINK_EXISTS).
   *
   * A new tap is the common case and is made in three programs, two of them at once, instead of a dozen one
   * after another: one `ip` batch creates it, attaches it, isolates the port and sets it up (the guard's
   * entries are read meanwhile), then its guard entry and its FDB pin are set together. Until both are,
   * it sends nothing (no entry) and receives no unicast (no pin, no flood), and nothing reads it yet.
   * What the batch cannot do (the name exists) takes the careful way, which checks what is there.
   */
  async createTap(name: string, guest: Pick<GuestAddress, 'guestIp' | 'mac'>): Promise<void> {
    this.#assertTapName(name);
    // Settled, not all: a failed read must not leave the batch's tap behind unseen.
    const [batch, senders] = await Promise.allSettled([
      ipTool.ipBatch([
        { addTap: name, options: { multiQueue: false } },
        { setLink: name, changes: { master: this.bridge } },
        { setLink: name, changes: { bridgePort: ISOLATED_PORT } },
        { setLink: name, changes: { up: true } },
      ]),
      listTapSenders(),
    ]);
    if (batch.status === 'rejected') throw batch.reason; // refused before `ip` ran (a bad name)
    const made = batch.value;
    // `tuntap add` refuses a name that exists, whatever it is (iproute2 asks for IFF_TUN_EXCL).
    if (!made.ok && made.failed === 1) return this.#createOverExisting(name, guest);
    try {
      if (!made.ok) {
        const bridge = await ipTool.getLink(this.bridge);
        if (bridge?.kind !== 'bridge') {
          throw new HearthError('FailedPrecondition', 'HEARTH_ERR_NET_NO_BRIDGE', `bridge ${this.bridge} does not exist`);
        }
        throw made.error;
      }
      if (senders.status === 'rejected') throw senders.reason;
      const bound = await Promise.allSettled([
        allowTapSender({ tap: name, mac: guest.mac, ip: guest.guestIp }, senders.value),
        pinGuestMac(name, guest.mac),
      ]);
      for (const b of bound) if (b.status === 'rejected') throw b.reason;
    } catch (e) {
      // Made here (the batch's first command succeeded, or `ip` stopped later without saying where): undone,
      // the link at least if its entry cannot be (the next start drops entries of taps that are gone). The
      // error that matters is the first.
      await this.deleteTap(name).catch(() => this.#ignoreMissing(ipTool.deleteLink(name)).catch(() => undefined));
      throw e;
    }
  }

  /** `createTap` where an interface of that name exists: a tap is attached, bound and brought up; else refused. */
  async #createOverExisting(name: string, guest: Pick<GuestAddress, 'guestIp' | 'mac'>): Promise<void> {
    const bridge = await ipTool.getLink(this.bridge);
    if (bridge?.kind !== 'bridge') {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_NET_NO_BRIDGE', `bridge ${this.bridge} does not exist`);
    }
    let existing = await ipTool.getLink(name);
    let created = false;
    if (existing === undefined) {
      // Deleted since the batch tried: made afresh.
      try {
        await ipTool.addTap(name, { multiQueue: false });
        created = true;
      } catch (e) {
        if (!isHearthError(e, 'HEARTH_ERR_NET_LINK_EXISTS')) throw e;
      }
      existing = await ipTool.getLink(name);
    }
    if (existing === undefined || existing.tunType !== 'tap' || existing.multiQueue === true) {
      throw new HearthError(
        'AlreadyExists',
        'HEARTH_ERR_NET_LINK_EXISTS',
        `${name} exists and is not a single-queue tap (${existing?.kind ?? 'gone'})`,
      );
    }
    try {
      if (existing.master !== this.bridge) await ipTool.setLink(name, { master: this.bridge });
      await this.allowGuest(name, guest);
      if (!existing.up) await ipTool.setLink(name, { up: true });
    } catch (e) {
      if (created) await this.#ignoreMissing(ipTool.deleteLink(name));
      throw e;
    }
  }

  /**
   * Binds tap `name` to `guest`, replacing the guest it was bound to before: it may send only from the
   * guest's MAC and IP (tap-guard.ts, one nft transaction), and, while it is a port of the bridge, it receives
   * only frames to the guest's MAC, broadcast and multicast (port-isolation.ts). Idempotent, so a restarted
   * manager calls it again for every VM it keeps. The tap need not exist yet (then only the first part is
   * done; `createTap` does the second when it attaches the tap). FailedPrecondition
   * (HEARTH_ERR_NET_NO_GUARD) when the anti-spoofing table is not loaded.
   */
  async allowGuest(name: string, guest: Pick<GuestAddress, 'guestIp' | 'mac'>): Promise<void> {
    this.#assertTapName(name);
    await allowTapSender({ tap: name, mac: guest.mac, ip: guest.guestIp });
    if ((await ipTool.getLink(name))?.master !== this.bridge) return;
    // A tap deleted meanwhile has nothing left to isolate.
    await this.#ignoreMissing(isolatePort(this.bridge, name, guest.mac));
  }

  /**
   * Deletes the tap and its anti-spoofing entry; succeeds when either does not exist. Only names with the tap
   * prefix are accepted. The entry goes first: a failure in between leaves a tap that can send nothing. The
   * port's flags and FDB pin go with the tap (the kernel drops them as the port leaves the bridge).
   */
  async deleteTap(name: string): Promise<void> {
    this.#assertTapName(name);
    await forgetTaps([name]);
    await this.#ignoreMissing(ipTool.deleteLink(name));
  }

  /** Names of every tap with our prefix, whatever bridge (if any) they are on. */
  async listTaps(): Promise<string[]> {
    return (await ipTool.listLinks())
      .filter((l) => l.tunType === 'tap' && l.name.startsWith(TAP_PREFIX))
      .map((l) => l.name)
      .sort();
  }

  /**
   * Guests reach beyond the host: sets `net.ipv4.ip_forward = 1` (namespace-wide, and left on by
   * `disableNat`) and loads `table ip hearth`: masquerade for the pool's subnet leaving through any interface
   * but the bridge, and forward accepts for traffic from the bridge and replies to it. Idempotent (the table
   * is replaced atomically).
   */
  async enableNat(): Promise<void> {
    if ((await readFile(IP_FORWARD, 'utf8')).trim() !== '1') await writeFile(IP_FORWARD, '1\n');
    const subnet = { addr: this.pool.network, len: this.pool.prefixLength };
    await nftReplaceTable({
      ...NAT_TABLE,
      chains: [
        { name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
        { name: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
      ],
      rules: [
        {
          chain: 'postrouting',
          match: [
            { on: 'ip saddr', op: '==', prefix: subnet },
            { on: 'oifname', op: '!=', value: this.bridge },
          ],
          action: 'masquerade',
        },
        { chain: 'forward', match: [{ on: 'iifname', op: '==', value: this.bridge }], action: 'accept' },
        {
          chain: 'forward',
          match: [
            { on: 'oifname', op: '==', value: this.bridge },
            { on: 'ct state', op: 'in', value: ['established', 'related'] },
          ],
          action: 'accept',
        },
      ],
    });
  }

  /** Removes `table ip hearth` entirely; succeeds when it is not there. ip_forward is left as it is. */
  async disableNat(): Promise<void> {
    await nftDeleteTable(NAT_TABLE);
  }

  /** Whether our nft table is loaded. */
  async natEnabled(): Promise<boolean> {
    return (await nftListTable(NAT_TABLE)) !== undefined;
  }

  #assertTapName(name: string): void {
    ipTool.assertInterfaceName(name);
    if (!name.startsWith(TAP_PREFIX)) {
      throw new HearthError(
        'InvalidArgument',
        'HEARTH_ERR_NET_INVALID_NAME',
        `"${name}" is not a Hearth tap name (they start with "${TAP_PREFIX}")`,
      );
    }
  }

  async #assertSubnetFree(): Promise<void> {
    const clash = (await ipTool.listIpv4Routes()).find(
      (r) => r.dst !== 'default' && r.dev !== this.bridge && this.pool.overlaps(r.dst),
    );
    if (clash !== undefined) {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_NET_SUBNET_CONFLICT',
        `the network pool ${this.pool.cidr} overlaps the route ${clash.dst}` +
          `${clash.dev === undefined ? '' : ` on ${clash.dev}`}; configure another pool`,
      );
    }
  }

  async #ignoreMissing(p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!isHearthError(e, 'HEARTH_ERR_NET_LINK_NOT_FOUND')) throw e;
    }
  }
}
