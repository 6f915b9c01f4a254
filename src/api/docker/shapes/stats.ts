/**
 * Docker's stats (Engine API 1.47, `GET /containers/{id}/stats`) from Hearth's, for the Docker-compatible
 * endpoint: a translation of one reading and the one before it, no state of its own. The figures are the
 * cgroup v2 ones a Docker host gives, taken inside the guest, so `docker stats` computes what it shows the way
 * it always does:
 *   - CPU % = (cpu_delta / system_cpu_delta) * online_cpus * 100, where the system's CPU time is the guest's
 *     (its vCPUs, busy and idle): 100% is one vCPU busy, as one host CPU is on Docker;
 *   - memory = usage - stats.inactive_file, against `limit` (the container's `memory_mib`);
 *   - network from `networks.eth0`, the VM's one NIC; block I/O from `io_service_bytes_recursive`, one entry per
 *     disk and direction (major 254, virtio-blk; minor 0 for the first disk, 16 for the second, as the guest
 *     names them vda, vdb).
 * What a VM adds on the host (the VMM's own CPU time and memory) has no place in Docker's shape: Hearth's own
 * stats carry it.
 * @module
 */
import type { ContainerStats } from '../../../containers/manager.ts';

export interface DockerCpuStats {
  cpu_usage: { total_usage: number; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** Docker's per-interface counters are the tap's, field for field. */
export type DockerNetworkStats = NonNullable<ContainerStats['network']>;

export interface DockerBlkioEntry {
  major: number;
  minor: number;
  op: 'read' | 'write';
  value: number;
}

export interface DockerStats {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number };
  blkio_stats: {
    io_service_bytes_recursive: DockerBlkioEntry[] | null;
    io_serviced_recursive: null;
    io_queue_recursive: null;
    io_service_time_recursive: null;
    io_wait_time_recursive: null;
    io_merged_recursive: null;
    io_time_recursive: null;
    sectors_recursive: null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: DockerCpuStats;
  precpu_stats: DockerCpuStats;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, DockerNetworkStats>;
}

/** Go's zero time: Docker's `preread` when there is no reading before. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const VIRTIO_BLK_MAJOR = 254;
const MINORS_PER_DISK = 16;
const NO_THROTTLING = { periods: 0, throttled_periods: 0, throttled_time: 0 };
/** No reading yet (the first of a stream) or none at all (a stopped container). */
const IDLE_CPU: DockerCpuStats = { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: NO_THROTTLING };

/**
 * `current` as Docker shows it, with `previous` (the reading a second before, or null for a single one) as its
 * `precpu_stats`. `container` names it as Docker does: `id` the 64 hex digits, `name` without the leading `/`.
 */
export function dockerStats(current: ContainerStats, previous: ContainerStats | null, container: { id: string; name: string }): DockerStats {
  return {
    name: `/${container.name}`,
    id: container.id,
    read: current.read,
    preread: previous?.read ?? ZERO_TIME,
    pids_stats: current.pids.current === null ? {} : { current: current.pids.current },
    blkio_stats: blkioStats(
      current.block_io.flatMap((d, i) => [
        { major: VIRTIO_BLK_MAJOR, minor: i * MINORS_PER_DISK, op: 'read' as const, value: d.read_bytes },
        { major: VIRTIO_BLK_MAJOR, minor: i * MINORS_PER_DISK, op: 'write' as const, value: d.write_bytes },
      ]),
    ),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(current),
    precpu_stats: previous ? cpuStats(previous) : IDLE_CPU,
    memory_stats: memoryStats(current.memory),
    ...(current.network ? { networks: { eth0: { ...current.network } } } : {}),
  };
}

/** Bytes per disk and direction are all Hearth counts; Docker's other lists are null, as on cgroup v2 hosts. */
function blkioStats(bytes: DockerBlkioEntry[] | null): DockerStats['blkio_stats'] {
  return {
    io_service_bytes_recursive: bytes,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

function cpuStats(s: ContainerStats): DockerCpuStats {
  return {
    cpu_usage: { total_usage: s.cpu.usage_ns ?? 0, usage_in_kernelmode: s.cpu.system_ns ?? 0, usage_in_usermode: s.cpu.user_ns ?? 0 },
    ...(s.cpu.guest_total_ns === null ? {} : { system_cpu_usage: s.cpu.guest_total_ns }),
    online_cpus: s.cpu.online_cpus ?? s.cpu.vcpus,
    throttling_data: NO_THROTTLING,
  };
}

function memoryStats(m: ContainerStats['memory']): DockerStats['memory_stats'] {
  const stats: Record<string, number> = {};
  if (m.anon_bytes !== null) stats.anon = m.anon_bytes;
  if (m.file_bytes !== null) stats.file = m.file_bytes;
  if (m.inactive_file_bytes !== null) stats.inactive_file = m.inactive_file_bytes;
  return {
    ...(m.usage_bytes === null ? {} : { usage: m.usage_bytes }),
    limit: m.limit_bytes ?? m.vm_bytes,
    stats,
  };
}

/** A container that does not run: zeros and Go's zero times, as dockerd answers (`docker stats -a` shows them). */
export function stoppedDockerStats(container: { id: string; name: string }): DockerStats {
  return {
    name: `/${container.name}`,
    id: container.id,
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: blkioStats(null),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: IDLE_CPU,
    precpu_stats: IDLE_CPU,
    memory_stats: {},
  };
}
