/**
 * Per-container usage series, read from each running container's stats at every scrape (containers/stats.ts
 * names the figures): the container's CPU and memory as the guest sees them, what its VMM costs the host,
 * its network and block I/O, its processes. Containers are read a few at a time, each bounded, so one whose
 * agent does not answer (an older agent, a container stopping between the list and its read) is left out
 * of this scrape instead of holding every scrape up.
 * @module
 */
import type { ContainerManager, ContainerStats } from '../../containers/manager.ts';
import type { Emit, Registry } from './exposition.ts';

const READ_LIMIT_MS = 2_000;
const AT_ONCE = 8;
const LABELS = ['id', 'name'];

const FAMILIES = [
  { name: 'hearth_container_cpu_seconds_total', help: "CPU time of the container's processes (their cgroup in the guest).", type: 'counter' },
  { name: 'hearth_container_vmm_cpu_seconds_total', help: 'CPU time of the VMM process on the host, every thread.', type: 'counter' },
  { name: 'hearth_container_memory_usage_bytes', help: "Memory charged to the container's cgroup in the guest.", type: 'gauge' },
  { name: 'hearth_container_memory_limit_bytes', help: "The container's memory limit (memory_mib).", type: 'gauge' },
  { name: 'hearth_container_vmm_resident_bytes', help: 'Resident memory of the VMM on the host.', type: 'gauge' },
  { name: 'hearth_container_vmm_private_bytes', help: 'Private memory of the VMM on the host: what ending the VM gives back.', type: 'gauge' },
  { name: 'hearth_container_network_receive_bytes_total', help: 'Bytes the container received (its tap).', type: 'counter' },
  { name: 'hearth_container_network_transmit_bytes_total', help: 'Bytes the container sent (its tap).', type: 'counter' },
  { name: 'hearth_container_network_receive_packets_total', help: 'Packets the container received.', type: 'counter' },
  { name: 'hearth_container_network_transmit_packets_total', help: 'Packets the container sent.', type: 'counter' },
  { name: 'hearth_container_block_read_bytes_total', help: 'Bytes read from each disk, as the VMM counted them.', type: 'counter', disk: true },
  { name: 'hearth_container_block_write_bytes_total', help: 'Bytes written to each disk, as the VMM counted them.', type: 'counter', disk: true },
  { name: 'hearth_container_pids', help: "Processes in the container's cgroup.", type: 'gauge' },
] as const;

export function collectContainerUsage(registry: Registry, manager: ContainerManager): void {
  registry.collect(
    FAMILIES.map((f) => ({ name: f.name, help: f.help, type: f.type, labelNames: 'disk' in f ? [...LABELS, 'disk'] : LABELS })),
    async (emit) => {
      const running = (await manager.list()).filter((c) => c.state === 'running');
      for (let i = 0; i < running.length; i += AT_ONCE) {
        const batch = running.slice(i, i + AT_ONCE);
        const read = await Promise.all(batch.map((c) => bounded(manager.stats(c.id))));
        batch.forEach((c, j) => {
          const stats = read[j];
          if (stats) emitUsage(emit, { id: c.id, name: c.name }, stats);
        });
      }
    },
  );
}

function emitUsage(emit: Emit, labels: { id: string; name: string }, s: ContainerStats): void {
  const some = (name: string, value: number | null) => {
    if (value !== null) emit(name, labels, value);
  };
  some('hearth_container_cpu_seconds_total', s.cpu.usage_ns === null ? null : s.cpu.usage_ns / 1e9);
  some('hearth_container_vmm_cpu_seconds_total', s.cpu.host_ns / 1e9);
  some('hearth_container_memory_usage_bytes', s.memory.usage_bytes);
  some('hearth_container_memory_limit_bytes', s.memory.limit_bytes);
  some('hearth_container_vmm_resident_bytes', s.memory.host_resident_bytes);
  some('hearth_container_vmm_private_bytes', s.memory.host_private_bytes);
  if (s.network) {
    some('hearth_container_network_receive_bytes_total', s.network.rx_bytes);
    some('hearth_container_network_transmit_bytes_total', s.network.tx_bytes);
    some('hearth_container_network_receive_packets_total', s.network.rx_packets);
    some('hearth_container_network_transmit_packets_total', s.network.tx_packets);
  }
  for (const d of s.block_io) {
    emit('hearth_container_block_read_bytes_total', { ...labels, disk: d.disk }, d.read_bytes);
    emit('hearth_container_block_write_bytes_total', { ...labels, disk: d.disk }, d.write_bytes);
  }
  some('hearth_container_pids', s.pids.current);
}

/** The stats, or undefined if they fail or take longer than READ_LIMIT_MS. */
async function bounded(read: Promise<ContainerStats>): Promise<ContainerStats | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), READ_LIMIT_MS);
  });
  try {
    return await Promise.race([read.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
