/**
 * A container's usage as the API reports it (`GET /v1/containers/{id}/stats`, docs/api.md): what its
 * processes use as the guest kernel counts them, and what its VM costs the host. Built from one sandbox
 * reading and its tap's counters; no I/O here.
 * @module
 */
import type { SandboxInfo, SandboxStats } from '../sandbox/sandbox.ts';
import type { NetworkCounters } from './deps.ts';
import type { RunResources } from './run.ts';

/** Figures the guest did not report are null. */
export interface ContainerStats {
  /** When the figures were read (ISO 8601). */
  read: string;
  cpu: {
    /** The container's processes (their cgroup's cpu.stat), ns: all, in user mode, in the kernel. */
    usage_ns: number | null;
    user_ns: number | null;
    system_ns: number | null;
    /** The guest's whole CPU time over its vCPUs, busy and idle, ns: a share of the CPUs is usage over this. */
    guest_total_ns: number | null;
    online_cpus: number | null;
    /** The container's `cpus` and its VM's vCPUs. */
    limit_cpus: number;
    vcpus: number;
    /** The VMM process on the host, every thread (the vCPUs, device emulation, I/O), ns. */
    host_ns: number;
    host_user_ns: number;
    host_system_ns: number;
  };
  memory: {
    /** Charged to the container's cgroup (memory.current): anonymous memory, page cache, kernel objects. */
    usage_bytes: number | null;
    /** Its memory.max: the container's `memory_mib`. */
    limit_bytes: number | null;
    anon_bytes: number | null;
    file_bytes: number | null;
    /** Page cache not used lately, reclaimed first (Docker's CLI subtracts it from the usage it shows). */
    inactive_file_bytes: number | null;
    /** Processes of the container the OOM killer ended in this run. */
    oom_kills: number | null;
    /** The VM's RAM: the container's memory and the guest's own. */
    vm_bytes: number;
    /** The VMM on the host (smaps_rollup): resident, and private (what ending the VM gives back). */
    host_resident_bytes: number;
    host_private_bytes: number;
  };
  /** The guest's traffic (its tap's counters turned around); null without a network. */
  network: NetworkCounters | null;
  /** Each disk's I/O as the VMM counted it: `rootfs` (the image) and `scratch` (the writable layer). */
  block_io: Array<{ disk: string; read_bytes: number; write_bytes: number; read_ops: number; write_ops: number; flush_ops: number }>;
  pids: { current: number | null };
}

const US = 1000;
const ns = (usec: number | null) => (usec === null ? null : usec * US);

export function containerStats(
  sample: SandboxStats,
  vm: Pick<SandboxInfo, 'vcpus' | 'memoryMib'>,
  resources: RunResources,
  network: NetworkCounters | null,
): ContainerStats {
  const { guest, vmm } = sample;
  return {
    read: sample.at.toISOString(),
    cpu: {
      usage_ns: ns(guest.cpuUsageUsec),
      user_ns: ns(guest.cpuUserUsec),
      system_ns: ns(guest.cpuSystemUsec),
      guest_total_ns: ns(guest.guestCpuUsec),
      online_cpus: guest.onlineCpus,
      limit_cpus: resources.cpus,
      vcpus: vm.vcpus,
      host_ns: vmm.cpuUserNs + vmm.cpuSystemNs,
      host_user_ns: vmm.cpuUserNs,
      host_system_ns: vmm.cpuSystemNs,
    },
    memory: {
      usage_bytes: guest.memoryUsageBytes,
      limit_bytes: guest.memoryLimitBytes,
      anon_bytes: guest.memoryAnonBytes,
      file_bytes: guest.memoryFileBytes,
      inactive_file_bytes: guest.memoryInactiveFileBytes,
      oom_kills: guest.oomKills,
      vm_bytes: vm.memoryMib * 2 ** 20,
      host_resident_bytes: vmm.residentBytes,
      host_private_bytes: vmm.privateBytes,
    },
    network,
    block_io: vmm.disks.map((d) => ({
      disk: d.id,
      read_bytes: d.readBytes,
      write_bytes: d.writeBytes,
      read_ops: d.readOps,
      write_ops: d.writeOps,
      flush_ops: d.flushOps,
    })),
    pids: { current: guest.pids },
  };
}
