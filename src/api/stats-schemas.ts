/**
 * The schema of a container's usage (`GET /v1/containers/{id}/stats`); its fields are src/containers/stats.ts's
 * and docs/api.md describes each.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { Nullable, Time } from './schemas.ts';

const Count = (description?: string) => Type.Integer(description ? { minimum: 0, description } : { minimum: 0 });
const Reported = (description?: string) => Nullable(Count(description));

export const NetworkStats = Type.Object(
  {
    rx_bytes: Count(),
    rx_packets: Count(),
    rx_errors: Count(),
    rx_dropped: Count(),
    tx_bytes: Count(),
    tx_packets: Count(),
    tx_errors: Count(),
    tx_dropped: Count(),
  },
  { description: "The guest's traffic (rx: received by the container), from its tap's counters." },
);

export const ContainerStatsItem = Type.Object(
  {
    read: Time,
    cpu: Type.Object({
      usage_ns: Reported("CPU time of the container's processes (their cgroup in the guest)."),
      user_ns: Reported(),
      system_ns: Reported(),
      guest_total_ns: Reported("The guest's CPU time over all its vCPUs, busy and idle: the container's share is usage_ns over it."),
      online_cpus: Reported(),
      limit_cpus: Type.Number({ description: "The container's `cpus`." }),
      vcpus: Count("The VM's vCPUs."),
      host_ns: Count('CPU time of the VMM process on the host, every thread.'),
      host_user_ns: Count(),
      host_system_ns: Count(),
    }),
    memory: Type.Object({
      usage_bytes: Reported("Charged to the container's cgroup: anonymous memory, page cache, kernel objects."),
      limit_bytes: Reported("The container's `memory_mib`."),
      anon_bytes: Reported(),
      file_bytes: Reported(),
      inactive_file_bytes: Reported('Page cache not used lately (Docker shows usage less this).'),
      oom_kills: Reported('Processes of the container the OOM killer ended in this run.'),
      vm_bytes: Count("The VM's RAM."),
      host_resident_bytes: Count("The VMM's resident memory on the host (shared pages counted in full)."),
      host_private_bytes: Count("The VMM's private memory on the host: what the container really costs it."),
    }),
    network: Nullable(NetworkStats),
    block_io: Type.Array(
      Type.Object({
        disk: Type.String({ description: '`rootfs` (the image, read-only) or `scratch` (the writable layer).' }),
        read_bytes: Count(),
        write_bytes: Count(),
        read_ops: Count(),
        write_ops: Count(),
        flush_ops: Count(),
      }),
    ),
    pids: Type.Object({ current: Reported('Processes and threads of the container.') }),
  },
  { description: 'Counters count from the start of the VM (this run).' },
);

export const StatsQuery = Type.Object(
  {
    stream: Type.Optional(Type.Boolean({ description: 'Keep sending a reading every second (NDJSON) until the container stops running.' })),
  },
  { additionalProperties: false },
);
