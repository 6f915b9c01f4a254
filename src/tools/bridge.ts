/**
 * iproute2's `bridge`, typed: the flags of a bridge port and the bridge's forwarding database (FDB). Each
 * function is one `bridge` command; reads use `-j` (JSON) output. Every function takes an optional
 * `{ netns }`, which runs the command as `bridge -n NETNS ...`, as ./ip.ts does.
 *
 * A missing device is NotFound (HEARTH_ERR_NET_LINK_NOT_FOUND), as in ./ip.ts; anything else stays
 * HEARTH_ERR_TOOL_FAILED from `runTool` (a device that is not a bridge port answers "Operation not supported").
 */
import { HearthError, isHearthError } from '../errors.ts';
import { assertInterfaceName, assertNetnsName, type IpTarget } from './ip.ts';
import { runTool } from './run.ts';

/** The flags of a bridge port that decide what the bridge learns from it and which floods go out of it. */
export interface BridgePortFlags {
  /** The source MACs of frames coming in through it become (dynamic) FDB entries. */
  learning: boolean;
  /** Unicast to a MAC the FDB does not know is flooded out of it. */
  flood: boolean;
  /** Multicast without a known listener is flooded out of it. */
  mcastFlood: boolean;
  /** Broadcast (ARP requests among it) is flooded out of it. */
  bcastFlood: boolean;
}

export interface BridgePort extends BridgePortFlags {
  name: string;
  /** The bridge it is a port of. */
  master: string;
  /** The STP port state: `forwarding` once it passes frames; `disabled` without carrier (a tap nobody holds). */
  state: string;
}

/** One entry of a bridge's FDB: frames to `mac` leave through port `dev`. */
export interface FdbEntry {
  mac: string;
  dev: string;
  /**
   * `static`: added by hand, never ages; `dynamic`: learnt, ages out; `permanent`: one of the host's own
   * addresses (a port's MAC): frames to it are delivered to the host, not sent out of `dev`.
   */
  state: 'static' | 'dynamic' | 'permanent';
  /** Learning on another port cannot move it. */
  sticky: boolean;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function assertMac(mac: string): void {
  if (!MAC.test(mac)) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_ADDRESS', `"${mac}" is not a MAC address`);
  }
}

async function bridge(args: string[], target: IpTarget = {}): Promise<string> {
  const full = target.netns === undefined ? args : (assertNetnsName(target.netns), ['-n', target.netns, ...args]);
  try {
    return (await runTool('bridge', full, { timeoutMs: 30_000 })).stdout;
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_TOOL_FAILED') && /Cannot find (bridge )?device/.test(e.message)) {
      throw new HearthError('NotFound', 'HEARTH_ERR_NET_LINK_NOT_FOUND', e.message, { cause: e });
    }
    throw e;
  }
}

function parseJson<T>(stdout: string): T[] {
  const text = stdout.trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

interface RawPort {
  ifname: string;
  master: string;
  state: string;
  learning: boolean;
  flood: boolean;
  mcast_flood: boolean;
  bcast_flood: boolean;
}

/** `bridge -j -d link show dev NAME`: the port, or undefined when NAME exists but is no bridge's port. */
export async function getBridgePort(name: string, target?: IpTarget): Promise<BridgePort | undefined> {
  assertInterfaceName(name);
  const [raw] = parseJson<RawPort>(await bridge(['-j', '-d', 'link', 'show', 'dev', name], target));
  if (raw === undefined) return undefined;
  return {
    name: raw.ifname,
    master: raw.master,
    state: raw.state,
    learning: raw.learning,
    flood: raw.flood,
    mcastFlood: raw.mcast_flood,
    bcastFlood: raw.bcast_flood,
  };
}

const onOff = (v: boolean): string => (v ? 'on' : 'off');

/** `bridge link set dev NAME [learning on|off] [flood on|off] [mcast_flood on|off] [bcast_flood on|off]`. */
export async function setBridgePortFlags(
  name: string,
  flags: Partial<BridgePortFlags>,
  target?: IpTarget,
): Promise<void> {
  assertInterfaceName(name);
  const args = ['link', 'set', 'dev', name];
  if (flags.learning !== undefined) args.push('learning', onOff(flags.learning));
  if (flags.flood !== undefined) args.push('flood', onOff(flags.flood));
  if (flags.mcastFlood !== undefined) args.push('mcast_flood', onOff(flags.mcastFlood));
  if (flags.bcastFlood !== undefined) args.push('bcast_flood', onOff(flags.bcastFlood));
  await bridge(args, target);
}

interface RawFdb {
  mac: string;
  ifname: string;
  master?: string;
  state?: string;
  flags?: string[];
}

/**
 * The FDB of bridge `name` (`bridge -j fdb show br NAME`): the entries that lead to its ports. Left out are
 * the `self` entries the same command lists, which are the devices' own address filters, not the bridge's.
 */
export async function listFdb(name: string, target?: IpTarget): Promise<FdbEntry[]> {
  assertInterfaceName(name);
  return parseJson<RawFdb>(await bridge(['-j', 'fdb', 'show', 'br', name], target))
    .filter((r) => r.master === name)
    .map((r) => ({
      mac: r.mac,
      dev: r.ifname,
      state: r.state === 'permanent' ? 'permanent' : r.state === 'static' ? 'static' : 'dynamic',
      sticky: r.flags?.includes('sticky') ?? false,
    }));
}

/**
 * `bridge fdb replace MAC dev DEV master static [sticky]`: frames to MAC leave through port DEV, whatever
 * entry the MAC had before (on this port or another). Always `static`: the tool's default, `permanent`,
 * would make MAC one of the host's own addresses. `master` because without it the entry goes to DEV's own
 * address filter, not to the bridge.
 */
export async function replaceStaticFdbEntry(
  mac: string,
  dev: string,
  options: { sticky?: boolean } & IpTarget = {},
): Promise<void> {
  assertMac(mac);
  assertInterfaceName(dev);
  const args = ['fdb', 'replace', mac, 'dev', dev, 'master', 'static'];
  if (options.sticky === true) args.push('sticky');
  await bridge(args, options);
}

/** `bridge fdb del MAC dev DEV master`; an entry that is not there is fine. */
export async function deleteFdbEntry(mac: string, dev: string, target?: IpTarget): Promise<void> {
  assertMac(mac);
  assertInterfaceName(dev);
  try {
    await bridge(['fdb', 'del', mac, 'dev', dev, 'master'], target);
  } catch (e) {
    if (!(isHearthError(e, 'HEARTH_ERR_TOOL_FAILED') && /No such file or directory/.test(e.message))) throw e;
  }
}
