/**
 * iproute2 (`ip`), typed. Each function is one `ip` command (`ipBatch`: several in one process); reads use
 * `-j` (JSON) output.
 * Every function takes an optional `{ netns }`: the command then runs as `ip -n NETNS ...`, inside that named
 * network namespace (tests use this; the manager itself works in the namespace it runs in).
 *
 * Failures become HearthErrors: a missing device is NotFound (HEARTH_ERR_NET_LINK_NOT_FOUND), an existing one
 * AlreadyExists (HEARTH_ERR_NET_LINK_EXISTS); anything else stays HEARTH_ERR_TOOL_FAILED from `runTool`.
 */
import { HearthError, isHearthError } from '../errors.ts';
import { runTool } from './run.ts';

export interface IpTarget {
  /** Run inside this named network namespace (`ip -n`). */
  netns?: string;
}

/** What the manager needs to know about one network interface. */
export interface LinkInfo {
  name: string;
  index: number;
  /** `bridge`, `tun`, `veth`, `dummy`, ...; undefined for plain devices such as `lo`. */
  kind: string | undefined;
  /** For `tun` devices: `tap` or `tun`. */
  tunType: 'tap' | 'tun' | undefined;
  /** For `tun` devices: whether IFF_MULTI_QUEUE is set. */
  multiQueue: boolean | undefined;
  /** The bridge (or other master) this interface is attached to. */
  master: string | undefined;
  /** Administratively up (the UP flag; a tap with no reader is up but has NO-CARRIER). */
  up: boolean;
  mac: string;
  mtu: number;
}

export interface AddressInfo {
  ifname: string;
  family: 'inet' | 'inet6';
  local: string;
  prefixLength: number;
}

export interface RouteInfo {
  /** `default` or a CIDR / host address. */
  dst: string;
  dev: string | undefined;
  gateway: string | undefined;
}

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;
const IFNAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$/;
const NETNS_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/;

/** Refuses a name the kernel would refuse (or `ip` could read as an option). */
export function assertInterfaceName(name: string): void {
  if (!IFNAME.test(name)) {
    throw new HearthError(
      'InvalidArgument',
      'HEARTH_ERR_NET_INVALID_NAME',
      `"${name}" is not a valid interface name (1-${MAX_IFNAME_LENGTH} of A-Z a-z 0-9 _ . -, not starting with -)`,
    );
  }
}

/** Refuses a namespace name `ip netns` would refuse (or read as an option). */
export function assertNetnsName(name: string): void {
  if (!NETNS_NAME.test(name)) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_NAME', `"${name}" is not a valid netns name`);
  }
}

async function ip(args: string[], target: IpTarget = {}, input?: string): Promise<string> {
  const full = target.netns === undefined ? args : (assertNetnsName(target.netns), ['-n', target.netns, ...args]);
  try {
    return (await runTool('ip', full, { timeoutMs: 30_000, ...(input === undefined ? {} : { input }) })).stdout;
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_TOOL_FAILED')) {
      if (/File exists/.test(e.message)) {
        throw new HearthError('AlreadyExists', 'HEARTH_ERR_NET_LINK_EXISTS', e.message, { cause: e });
      }
      if (/Cannot find device|does not exist/.test(e.message)) {
        throw new HearthError('NotFound', 'HEARTH_ERR_NET_LINK_NOT_FOUND', e.message, { cause: e });
      }
    }
    throw e;
  }
}

function parseJson<T>(stdout: string): T[] {
  const text = stdout.trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

interface RawLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  master?: string;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { type?: string; multi_queue?: boolean } };
}

function toLinkInfo(raw: RawLink): LinkInfo {
  const kind = raw.linkinfo?.info_kind;
  const tunType = raw.linkinfo?.info_data?.type;
  return {
    name: raw.ifname,
    index: raw.ifindex,
    kind,
    tunType: kind === 'tun' && (tunType === 'tap' || tunType === 'tun') ? tunType : undefined,
    multiQueue: kind === 'tun' ? raw.linkinfo?.info_data?.multi_queue === true : undefined,
    master: raw.master,
    up: raw.flags?.includes('UP') ?? false,
    mac: raw.address ?? '',
    mtu: raw.mtu,
  };
}

/** `ip -j -d link show`. */
export async function listLinks(target?: IpTarget): Promise<LinkInfo[]> {
  return parseJson<RawLink>(await ip(['-j', '-d', 'link', 'show'], target)).map(toLinkInfo);
}

/** One interface, or undefined when there is none of that name. */
export async function getLink(name: string, target?: IpTarget): Promise<LinkInfo | undefined> {
  assertInterfaceName(name);
  try {
    const [raw] = parseJson<RawLink>(await ip(['-j', '-d', 'link', 'show', 'dev', name], target));
    return raw === undefined ? undefined : toLinkInfo(raw);
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_NET_LINK_NOT_FOUND')) return undefined;
    throw e;
  }
}

/** `ip link add name NAME type bridge`. */
export async function addBridge(name: string, target?: IpTarget): Promise<void> {
  assertInterfaceName(name);
  await ip(['link', 'add', 'name', name, 'type', 'bridge'], target);
}

export interface TapOptions extends IpTarget {
  /** IFF_MULTI_QUEUE; default false (QEMU with one queue opens the tap without it). */
  multiQueue?: boolean;
  /** Owner uid/gid allowed to open the tap; default none (root only). */
  user?: number;
  group?: number;
}

/** `ip tuntap add dev NAME mode tap [multi_queue] [user U] [group G]`: a persistent tap. */
export async function addTap(name: string, options: TapOptions = {}): Promise<void> {
  await ip(addTapArgs(name, options), options);
}

function addTapArgs(name: string, options: Omit<TapOptions, 'netns'>): string[] {
  assertInterfaceName(name);
  const args = ['tuntap', 'add', 'dev', name, 'mode', 'tap'];
  if (options.multiQueue === true) args.push('multi_queue');
  if (options.user !== undefined) args.push('user', String(options.user));
  if (options.group !== undefined) args.push('group', String(options.group));
  return args;
}

/** `ip link add NAME type veth peer name PEER [netns PEER_NETNS]`. */
export async function addVethPair(
  name: string,
  peer: { name: string; netns?: string },
  target?: IpTarget,
): Promise<void> {
  assertInterfaceName(name);
  assertInterfaceName(peer.name);
  const args = ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer.name];
  if (peer.netns !== undefined) {
    assertNetnsName(peer.netns);
    args.push('netns', peer.netns);
  }
  await ip(args, target);
}

/** `ip link del dev NAME`. */
export async function deleteLink(name: string, target?: IpTarget): Promise<void> {
  await ip(deleteLinkArgs(name), target);
}

function deleteLinkArgs(name: string): string[] {
  assertInterfaceName(name);
  return ['link', 'del', 'dev', name];
}

export interface LinkChanges {
  up?: boolean;
  /** Attach to this bridge; null detaches (`nomaster`). */
  master?: string | null;
  mtu?: number;
  /** MAC address (`address`); a bridge with a set address keeps it whatever ports come and go. */
  mac?: string;
  /**
   * Flags of the interface as a bridge's port (`type bridge_slave learning on|off flood on|off`), as
   * ./bridge.ts `setBridgePortFlags` sets them; it must already be a port (attached in an earlier command).
   */
  bridgePort?: { learning?: boolean; flood?: boolean };
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** `ip link set dev NAME [master M | nomaster] [mtu N] [address MAC] [type bridge_slave ...] [up|down]`. */
export async function setLink(name: string, changes: LinkChanges, target?: IpTarget): Promise<void> {
  await ip(setLinkArgs(name, changes), target);
}

function setLinkArgs(name: string, changes: LinkChanges): string[] {
  assertInterfaceName(name);
  const args = ['link', 'set', 'dev', name];
  if (changes.master === null) args.push('nomaster');
  else if (changes.master !== undefined) {
    assertInterfaceName(changes.master);
    args.push('master', changes.master);
  }
  if (changes.mtu !== undefined) args.push('mtu', String(Math.trunc(changes.mtu)));
  if (changes.mac !== undefined) {
    if (!MAC.test(changes.mac)) {
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_ADDRESS', `"${changes.mac}" is not a MAC address`);
    }
    args.push('address', changes.mac);
  }
  if (changes.bridgePort !== undefined) {
    const { learning, flood } = changes.bridgePort;
    args.push('type', 'bridge_slave');
    if (learning !== undefined) args.push('learning', learning ? 'on' : 'off');
    if (flood !== undefined) args.push('flood', flood ? 'on' : 'off');
  }
  if (changes.up !== undefined) args.push(changes.up ? 'up' : 'down');
  return args;
}

/** One command of an `ipBatch`: the same as the function of that name. */
export type IpBatchCommand =
  | { addTap: string; options?: Omit<TapOptions, 'netns'> }
  | { setLink: string; changes: LinkChanges }
  | { deleteLink: string };

/** How a batch went: every command done, or the first that failed and why (the rest were not run). */
export type IpBatchResult =
  | { ok: true }
  | {
      ok: false;
      /**
       * 1-based index of the command that failed, as `ip` reports it (`Command failed -:N`); undefined when
       * `ip` exited without saying (it does on some arguments it cannot resolve, such as a `master` that does
       * not exist): then an unknown number of the commands, at least none before the first, were done.
       */
      failed: number | undefined;
      error: HearthError;
    };

/**
 * Runs `commands` in order as one `ip -batch -` (one process instead of one each: a tap made whole costs
 * a few ms rather than tens), stopping at the first that fails. A failure is a value, not a throw: the caller
 * decides what the commands done so far mean. Its error is mapped as a single command's would be.
 */
export async function ipBatch(commands: readonly IpBatchCommand[], target: IpTarget = {}): Promise<IpBatchResult> {
  const lines = commands.map((c) =>
    'addTap' in c ? addTapArgs(c.addTap, c.options ?? {}) : 'setLink' in c ? setLinkArgs(c.setLink, c.changes) : deleteLinkArgs(c.deleteLink),
  );
  if (lines.length === 0) return { ok: true };
  try {
    // Names and values are checked above, so none holds the spaces or newlines that would split a line.
    await ip(['-batch', '-'], target, lines.map((l) => l.join(' ')).join('\n') + '\n');
    return { ok: true };
  } catch (e) {
    if (!(e instanceof HearthError)) throw e;
    const reported = /Command failed -:(\d+)/.exec(e.message)?.[1];
    const failed = reported === undefined ? undefined : Number(reported);
    const which = failed === undefined ? `ip -batch (${lines.map((l) => l.join(' ')).join('; ')})` : `ip ${lines[failed - 1]?.join(' ')}`;
    return { ok: false, failed, error: new HearthError(e.kind, e.code, `${which} failed: ${e.message}`, { cause: e }) };
  }
}

interface RawAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `ip -j addr show [dev NAME]`, flattened; IPv4 and IPv6. */
export async function listAddresses(name?: string, target?: IpTarget): Promise<AddressInfo[]> {
  const args = ['-j', 'addr', 'show'];
  if (name !== undefined) {
    assertInterfaceName(name);
    args.push('dev', name);
  }
  const out: AddressInfo[] = [];
  for (const link of parseJson<RawAddr>(await ip(args, target))) {
    for (const a of link.addr_info ?? []) {
      if (a.family !== 'inet' && a.family !== 'inet6') continue;
      out.push({ ifname: link.ifname, family: a.family, local: a.local, prefixLength: a.prefixlen });
    }
  }
  return out;
}

/** `ip addr add ADDRESS/PREFIX dev NAME`. */
export async function addAddress(name: string, address: string, prefixLength: number, target?: IpTarget): Promise<void> {
  assertInterfaceName(name);
  await ip(['addr', 'add', `${address}/${Math.trunc(prefixLength)}`, 'dev', name], target);
}

interface RawRoute {
  dst: string;
  dev?: string;
  gateway?: string;
}

/** `ip -j -4 route show` (main table). */
export async function listIpv4Routes(target?: IpTarget): Promise<RouteInfo[]> {
  return parseJson<RawRoute>(await ip(['-j', '-4', 'route', 'show'], target)).map((r) => ({
    dst: r.dst,
    dev: r.dev,
    gateway: r.gateway,
  }));
}

/** `ip route add DST [via GW] [dev DEV]`; DST may be `default`. */
export async function addRoute(dst: string, via: { gateway?: string; dev?: string }, target?: IpTarget): Promise<void> {
  const args = ['route', 'add', dst];
  if (via.gateway !== undefined) args.push('via', via.gateway);
  if (via.dev !== undefined) {
    assertInterfaceName(via.dev);
    args.push('dev', via.dev);
  }
  await ip(args, target);
}

export interface NeighbourInfo {
  ip: string;
  /** Absent while the entry is unresolved (INCOMPLETE, FAILED). */
  mac: string | undefined;
  /** `STALE`, `REACHABLE`, `PERMANENT`, ... */
  state: string[];
}

const IPV4 = /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/;

/**
 * `ip neigh replace IP lladdr MAC dev NAME nud STATE`. For tests: a `stale` entry is one that ARP from the
 * link will overwrite, so a test can watch whether a forged announcement got through.
 */
export async function setNeighbour(name: string, ipv4: string, mac: string, state: 'stale' | 'permanent', target?: IpTarget): Promise<void> {
  assertInterfaceName(name);
  if (!IPV4.test(ipv4) || !MAC.test(mac)) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_ADDRESS', `"${ipv4}" / "${mac}" is not an IPv4 and MAC address`);
  }
  await ip(['neigh', 'replace', ipv4, 'lladdr', mac, 'dev', name, 'nud', state], target);
}

/** `ip -j neigh show IP dev NAME`: the entry, or undefined when there is none. */
export async function getNeighbour(name: string, ipv4: string, target?: IpTarget): Promise<NeighbourInfo | undefined> {
  assertInterfaceName(name);
  if (!IPV4.test(ipv4)) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_ADDRESS', `"${ipv4}" is not an IPv4 address`);
  }
  const [raw] = parseJson<{ dst: string; lladdr?: string; state?: string[] }>(
    await ip(['-j', 'neigh', 'show', ipv4, 'dev', name], target),
  );
  return raw === undefined ? undefined : { ip: raw.dst, mac: raw.lladdr, state: raw.state ?? [] };
}

/** `ip netns add NAME`. */
export async function addNetns(name: string): Promise<void> {
  assertNetnsName(name);
  await ip(['netns', 'add', name]);
}

/** `ip netns del NAME`. */
export async function deleteNetns(name: string): Promise<void> {
  assertNetnsName(name);
  await ip(['netns', 'del', name]);
}

/** Names from `ip -j netns list`. */
export async function listNetns(): Promise<string[]> {
  return parseJson<{ name: string }>(await ip(['-j', 'netns', 'list'])).map((n) => n.name);
}

/**
 * The argv that runs `argv` inside a named namespace (`ip netns exec NAME ...`), for a long-running child the
 * caller spawns itself (runTool is for short-lived programs).
 */
export function netnsExecArgv(name: string, argv: readonly string[]): [program: string, args: string[]] {
  assertNetnsName(name);
  return ['ip', ['netns', 'exec', name, ...argv]];
}
