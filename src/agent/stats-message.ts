/**
 * The STATS_RESULT record list (docs/guest-protocol.md): what the container's processes use, as the guest
 * kernel counts it in their cgroup, and the guest's own CPU time and count to compare it with.
 * @module
 */
import { decodeRecords, RecordTag } from './protocol.ts';

/** Each figure is null when the guest did not report it (its file could not be read, or no limit is set). */
export interface GuestStats {
  /** CPU time of the container's processes (cpu.stat), in microseconds: all of it, in user mode, in the kernel. */
  cpuUsageUsec: number | null;
  cpuUserUsec: number | null;
  cpuSystemUsec: number | null;
  /** memory.current: everything charged to the container (anonymous, page cache, kernel), bytes. */
  memoryUsageBytes: number | null;
  /** memory.max; null: no limit. */
  memoryLimitBytes: number | null;
  /** memory.stat: anonymous memory, page cache, and the part of the page cache not used lately. */
  memoryAnonBytes: number | null;
  memoryFileBytes: number | null;
  memoryInactiveFileBytes: number | null;
  /** memory.events oom_kill: processes of the container the OOM killer ended. */
  oomKills: number | null;
  /** pids.current: processes and threads. */
  pids: number | null;
  /** The guest's whole CPU time, busy and idle, over every vCPU (/proc/stat), in microseconds. */
  guestCpuUsec: number | null;
  onlineCpus: number | null;
}

const U64_FIELDS: ReadonlyArray<[number, keyof GuestStats]> = [
  [RecordTag.CPU_USAGE_USEC, 'cpuUsageUsec'],
  [RecordTag.CPU_USER_USEC, 'cpuUserUsec'],
  [RecordTag.CPU_SYSTEM_USEC, 'cpuSystemUsec'],
  [RecordTag.MEMORY_CURRENT, 'memoryUsageBytes'],
  [RecordTag.MEMORY_MAX, 'memoryLimitBytes'],
  [RecordTag.MEMORY_ANON, 'memoryAnonBytes'],
  [RecordTag.MEMORY_FILE, 'memoryFileBytes'],
  [RecordTag.MEMORY_INACTIVE_FILE, 'memoryInactiveFileBytes'],
  [RecordTag.OOM_KILLS, 'oomKills'],
  [RecordTag.PIDS_CURRENT, 'pids'],
  [RecordTag.GUEST_CPU_USEC, 'guestCpuUsec'],
];
const U64_TAGS = new Map(U64_FIELDS);

export function decodeStats(payload: Buffer): GuestStats {
  const stats: GuestStats = {
    cpuUsageUsec: null,
    cpuUserUsec: null,
    cpuSystemUsec: null,
    memoryUsageBytes: null,
    memoryLimitBytes: null,
    memoryAnonBytes: null,
    memoryFileBytes: null,
    memoryInactiveFileBytes: null,
    oomKills: null,
    pids: null,
    guestCpuUsec: null,
    onlineCpus: null,
  };
  for (const [tag, value] of decodeRecords(payload)) {
    const field = U64_TAGS.get(tag);
    if (field && value.length >= 8) stats[field] = Number(value.readBigUInt64LE(0));
    else if (tag === RecordTag.ONLINE_CPUS && value.length >= 4) stats.onlineCpus = value.readUInt32LE(0);
  }
  return stats;
}
