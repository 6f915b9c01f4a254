/**
 * The RUN message (docs/guest-protocol.md): the process to start, as one record list in one frame, so it
 * must fit the protocol's frame limit (MAX_PAYLOAD). Built in one place for the two who need it: the agent
 * client sends it, and the launcher encodes it before a VM boots, so a process that cannot be sent fails
 * at once as the host's error instead of as a guest that never starts.
 */
import { randomBytes } from 'node:crypto';
import { HearthError } from '../errors.ts';
import type { ProcessSpec } from './process.ts';
import { capabilitiesRecord, encodeRecords, MAX_PAYLOAD, RecordTag, recordListBytes, u16, u64 } from './protocol.ts';
import type { RecordValue } from './protocol.ts';

export type RootfsType = 'ext4' | 'erofs';

/** What the guest holds the container's processes to (their cgroup); absent: no limit. */
export interface RunLimits {
  /** memory.max of the container's cgroup, in bytes. */
  memoryMaxBytes?: number;
}

/** A volume or a tmpfs the agent mounts in the container before the process starts (a MOUNT record). */
export interface GuestMount {
  /** The virtio-blk serial of an ext4 disk, the tag of a virtio-fs share, or `tmpfs`. */
  source: string;
  fsType: 'ext4' | 'virtiofs' | 'tmpfs';
  /** Absolute, inside the container. */
  target: string;
  readOnly: boolean;
  /** A volume's first use: the image directory's content, owner and mode are copied into it (ext4 only). */
  copyUp: boolean;
  /** A tmpfs's: Docker's comma list with its defaults (`noexec,nosuid,nodev,size=64m`), read-only by `ro`. */
  options?: string;
}

function mountRecord(m: GuestMount): [number, RecordValue] {
  return [
    RecordTag.MOUNT,
    encodeRecords([
      [RecordTag.MOUNT_SOURCE, m.source],
      [RecordTag.MOUNT_FSTYPE, m.fsType],
      [RecordTag.MOUNT_TARGET, m.target],
      [RecordTag.MOUNT_READONLY, flag(m.readOnly)],
      [RecordTag.MOUNT_COPY_UP, flag(m.copyUp)],
      ...(m.options === undefined ? [] : [[RecordTag.MOUNT_OPTIONS, m.options] as [number, RecordValue]]),
    ]),
  ];
}

/**
 * The machine's network identity, which the agent gives eth0 before anything else (not the kernel at boot:
 * a VM restored from a snapshot booted before it had one).
 */
export interface GuestNetwork {
  /** `a.b.c.d/prefix`. */
  address: string;
  gateway: string;
  mac: string;
}

/** Everything in a RUN beside the process. */
export interface RunSetup {
  /** The host's clock, ns since the epoch; default: now. */
  clockNs?: bigint;
  limits?: RunLimits;
  mounts?: readonly GuestMount[];
  network?: GuestNetwork;
  /** Mixed into the guest kernel's random pool; default: 64 fresh random bytes, so no two VMs share a stream. */
  randomSeed?: Buffer;
}

const RANDOM_SEED_BYTES = 64;

function runRecords(spec: ProcessSpec, rootfsType: RootfsType, setup: RunSetup): Array<[number, RecordValue]> {
  const { clockNs = BigInt(Date.now()) * 1_000_000n, limits = {}, mounts = [], network } = setup;
  const records: Array<[number, RecordValue]> = [
    ...spec.argv.map((a): [number, RecordValue] => [RecordTag.ARG, a]),
    ...spec.env.map((e): [number, RecordValue] => [RecordTag.ENV, e]),
    [RecordTag.CWD, spec.cwd],
    [RecordTag.USER, spec.user],
    [RecordTag.HOSTNAME, spec.hostname],
    [RecordTag.HOSTS, spec.hosts],
    [RecordTag.ROOTFS_TYPE, rootfsType],
    [RecordTag.CLOCK, u64(clockNs)],
  ];
  if (spec.resolvConf !== undefined) records.push([RecordTag.RESOLV_CONF, spec.resolvConf]);
  if (limits.memoryMaxBytes !== undefined) records.push([RecordTag.MEMORY_MAX, u64(BigInt(limits.memoryMaxBytes))]);
  if (spec.capabilities !== undefined) records.push(capabilitiesRecord(spec.capabilities));
  if (network) records.push([RecordTag.NET_ADDRESS, network.address], [RecordTag.NET_GATEWAY, network.gateway], [RecordTag.NET_MAC, network.mac]);
  records.push([RecordTag.RANDOM_SEED, setup.randomSeed ?? randomBytes(RANDOM_SEED_BYTES)]);
  return [...records, ...stdioRecords(spec), ...mounts.map(mountRecord)];
}

const flag = (on: boolean) => Buffer.from([on ? 1 : 0]);

/**
 * TTY, STDIN, ROWS and COLS, only for an interactive process: a RUN without them is the one sent before they
 * existed (stdin /dev/null, pipes).
 */
export function stdioRecords(spec: Pick<ProcessSpec, 'tty' | 'stdin' | 'size'>): Array<[number, RecordValue]> {
  const records: Array<[number, RecordValue]> = [];
  if (spec.tty) records.push([RecordTag.TTY, flag(true)]);
  if (spec.stdin) records.push([RecordTag.STDIN, flag(true)]);
  if (spec.tty && spec.size) records.push([RecordTag.ROWS, u16(spec.size.rows)], [RecordTag.COLS, u16(spec.size.cols)]);
  return records;
}

/** What stdioRecords adds to a RUN payload. */
export function stdioRunBytes(spec: Pick<ProcessSpec, 'tty' | 'stdin' | 'size'>): number {
  return encodeRecords(stdioRecords(spec)).length;
}

/**
 * The RUN payload for `spec` and its `setup` (clock, limits, volumes, network, random seed). Fails with HEARTH_ERR_RUN_TOO_LARGE, saying how much the argv and the environment take, when it is over the
 * frame limit.
 */
export function encodeRun(spec: ProcessSpec, rootfsType: RootfsType, setup: RunSetup = {}): Buffer {
  const payload = encodeRecords(runRecords(spec, rootfsType, setup));
  if (payload.length > MAX_PAYLOAD) {
    const argv = recordListBytes(spec.argv);
    const env = recordListBytes(spec.env);
    throw new HearthError(
      'FailedPrecondition',
      'HEARTH_ERR_RUN_TOO_LARGE',
      `the process cannot be sent to the guest: its RUN message would be ${payload.length} bytes, over the guest ` +
        `protocol's limit of ${MAX_PAYLOAD} (argv ${argv} bytes in ${spec.argv.length} items, environment ${env} ` +
        `bytes in ${spec.env.length} entries; each item takes 6 bytes more than its text): shorten the image's ` +
        `Entrypoint, Cmd or Env, or the container's args or env_vars`,
    );
  }
  return payload;
}
