/**
 * Anti-spoofing on the bridge: a guest may send only as itself. Without it a guest could add a neighbour's
 * address, announce it with gratuitous ARP (or send from the neighbour's MAC, which the bridge would learn)
 * and receive the neighbour's traffic, its port forwards included. One table of ours, in the bridge family:
 *
 *   table bridge hearth {
 *     set guests { type ifname . ether_addr . ipv4_addr }   one entry per tap: its guest's MAC and IP
 *     chain prerouting { type filter hook prerouting priority filter; policy accept
 *       iifname != "hth*" accept                            not from a guest: the host, other bridges' ports
 *       ether type ip  iifname . ether saddr . ip saddr @guests accept
 *       ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4
 *         iifname . ether saddr . arp saddr ip @guests  iifname . arp saddr ether . arp saddr ip @guests accept
 *       drop                                                anything else a tap sends
 *     }
 *   }
 *
 * Why prerouting: it runs when a frame enters the bridge, before the bridge learns its source MAC and before
 * it is forwarded to another port or delivered to the host, so a dropped frame reaches nobody and teaches the
 * bridge nothing. Frames the host sends to guests leave through the bridge device and never pass this hook.
 *
 * Why everything but IPv4 and ARP is dropped: guests are given IPv4 only, but their kernels have IPv6 and
 * put a link-local address on eth0. Over IPv6 a guest could send router advertisements (to neighbours, and to
 * the host if it accepts them on the bridge), answer neighbour discovery for others, and reach the host and
 * neighbours at link-local addresses, none of which the IPv4 entries check. VLAN-tagged frames and other
 * ethertypes have no use on the bridge either. An IPv6 pool would add its own entries here.
 *
 * A tap's entry is added with the tap and removed with it, each as one nft transaction; a tap without an
 * entry sends nothing. The table is loaded at start-up without touching the entries (the guests that still
 * run keep theirs), and can be reloaded at any time.
 */
import { HearthError, isHearthError } from '../errors.ts';
import {
  nftChangeElements,
  nftDeleteTable,
  nftEnsureTable,
  nftListElements,
  type NftElement,
  type NftTableRef,
} from '../tools/nft.ts';

/** The bridge-family table; the NAT table `ip hearth` is a different table (families have their own names). */
export const GUARD_TABLE: NftTableRef = { family: 'bridge', name: 'hearth' };
const SET = 'guests';

/** What one tap may send as. */
export interface TapSender {
  tap: string;
  mac: string;
  ip: string;
}

const toElement = (s: TapSender): NftElement => [s.tap, s.mac.toLowerCase(), s.ip];
const same = (a: TapSender, b: TapSender): boolean => toElement(a).join() === toElement(b).join();

/** Loads the table (idempotent; entries are kept). `tapPrefix` names the ports it judges: `hth` -> `hth*`. */
export async function ensureTapGuard(tapPrefix: string): Promise<void> {
  const chain = 'prerouting';
  await nftEnsureTable({
    ...GUARD_TABLE,
    sets: [{ name: SET, type: ['ifname', 'ether_addr', 'ipv4_addr'] }],
    chains: [{ name: chain, type: 'filter', hook: 'prerouting', priority: -200, policy: 'accept' }],
    rules: [
      { chain, match: [{ on: 'iifname', op: '!=', value: `${tapPrefix}*` }], action: 'accept' },
      {
        chain,
        match: [
          { on: 'ether type', op: '==', value: 'ip' },
          { on: 'set', keys: ['iifname', 'ether saddr', 'ip saddr'], set: SET },
        ],
        action: 'accept',
      },
      {
        chain,
        match: [
          { on: 'ether type', op: '==', value: 'arp' },
          // The offsets of the sender fields below hold only for Ethernet/IPv4 ARP.
          { on: 'arp htype', op: '==', value: 1 },
          { on: 'arp ptype', op: '==', value: 'ip' },
          { on: 'arp hlen', op: '==', value: 6 },
          { on: 'arp plen', op: '==', value: 4 },
          { on: 'set', keys: ['iifname', 'ether saddr', 'arp saddr ip'], set: SET },
          { on: 'set', keys: ['iifname', 'arp saddr ether', 'arp saddr ip'], set: SET },
        ],
        action: 'accept',
      },
      { chain, match: [], action: 'drop' },
    ],
  });
}

/** Every tap's entry; none when the table is not loaded. */
export async function listTapSenders(): Promise<TapSender[]> {
  const elements = (await nftListElements(GUARD_TABLE, SET)) ?? [];
  return elements.map(([tap = '', mac = '', ip = '']) => ({ tap, mac, ip }));
}

/**
 * Lets `sender.tap` send as `sender.mac`/`sender.ip` and nothing else: any other entry of that tap is
 * replaced in the same transaction. FailedPrecondition (HEARTH_ERR_NET_NO_GUARD) when the table is missing.
 * `current`: the entries as `listTapSenders` read them, when the caller read them already (meanwhile only
 * this tap's own changes may have happened: the caller's to order).
 */
export async function allowTapSender(sender: TapSender, current?: readonly TapSender[]): Promise<void> {
  const stale = (current ?? (await listTapSenders())).filter((s) => s.tap === sender.tap && !same(s, sender));
  try {
    await nftChangeElements(GUARD_TABLE, SET, { remove: stale.map(toElement), add: [toElement(sender)] });
  } catch (e) {
    if (!isHearthError(e, 'HEARTH_ERR_NFT_NOT_FOUND')) throw e;
    throw new HearthError(
      'FailedPrecondition',
      'HEARTH_ERR_NET_NO_GUARD',
      `the anti-spoofing table (nft bridge ${GUARD_TABLE.name}) is missing, so ${sender.tap} cannot be let ` +
        `send; something flushed the nft ruleset: restart the manager, which loads it again`,
      { cause: e },
    );
  }
}

/** Removes every entry of these taps (none is fine, and so is a missing table). */
export async function forgetTaps(taps: Iterable<string>): Promise<void> {
  const names = new Set(taps);
  const entries = (await listTapSenders()).filter((s) => names.has(s.tap));
  if (entries.length === 0) return;
  try {
    await nftChangeElements(GUARD_TABLE, SET, { remove: entries.map(toElement) });
  } catch (e) {
    if (!isHearthError(e, 'HEARTH_ERR_NFT_NOT_FOUND')) throw e; // the table went meanwhile: nothing to remove
  }
}

/** Deletes the table; succeeds when it is not there. */
export async function removeTapGuard(): Promise<void> {
  await nftDeleteTable(GUARD_TABLE);
}
