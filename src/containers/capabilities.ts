/**
 * Linux capabilities as Docker grants them to a container's processes: its default set, with `cap_add` and
 * `cap_drop` (names with or without `CAP_`, any case, or `ALL`) or every one when privileged, turned here into
 * the mask the guest agent applies (the CAPABILITIES record, docs/guest-protocol.md). Inside a microVM these
 * are capabilities of the guest's kernel only; none of them reaches the host.
 * @module
 */
import { invalidArgument } from '../errors.ts';

/** Every capability by its number (linux/capability.h, 0 to CAP_LAST_CAP of Linux 6.x). */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** Docker's default set (moby's oci/caps DefaultCapabilities). */
export const DOCKER_DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

export const ALL_CAPABILITIES = 'ALL';

const NUMBERS = new Map<string, number>(CAPABILITY_NAMES.map((name, i) => [name, i]));

/**
 * A name as stored: `CAP_` and upper case, or `ALL`, as Docker normalizes them (`net_admin`, `Cap_Net_Admin`
 * and `CAP_NET_ADMIN` are one capability). An unknown name is a 400 naming `field`.
 */
export function normalizeCapabilities(names: readonly string[], field: string): string[] {
  return names.map((raw, i) => {
    const upper = raw.toUpperCase();
    if (upper === ALL_CAPABILITIES) return ALL_CAPABILITIES;
    const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (!NUMBERS.has(name)) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `${field}/${i} ${JSON.stringify(raw)} is not a capability: give a name such as NET_ADMIN or CAP_NET_ADMIN (capabilities(7)), or ALL`,
        `${field}/${i}`,
      );
    }
    return name;
  });
}

/** A set of capabilities as the guest takes it: bit n for capability n (a number: 41 bits fit). */
const maskOf = (names: Iterable<string>): number => {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(NUMBERS.get(n)!);
  return Number(mask);
};

/**
 * The capabilities of a container's processes, by Docker's rules (moby's TweakCapabilities): privileged, all;
 * `ALL` added, all but those dropped; `ALL` dropped, only those added; else the default set less the dropped,
 * plus the added. Names are normalized ones.
 */
export function capabilityMask(c: { cap_add: readonly string[]; cap_drop: readonly string[]; privileged: boolean }): number {
  const all = CAPABILITY_NAMES as readonly string[];
  if (c.privileged) return maskOf(all);
  if (c.cap_add.includes(ALL_CAPABILITIES)) return maskOf(all.filter((n) => !c.cap_drop.includes(n)));
  const added = c.cap_add.filter((n) => n !== ALL_CAPABILITIES);
  if (c.cap_drop.includes(ALL_CAPABILITIES)) return maskOf(added);
  return maskOf([...DOCKER_DEFAULT_CAPABILITIES.filter((n) => !c.cap_drop.includes(n)), ...added]);
}

/** Every capability: `docker exec --privileged`, and a privileged container's processes. */
export const ALL_CAPABILITIES_MASK = capabilityMask({ cap_add: [], cap_drop: [], privileged: true });
