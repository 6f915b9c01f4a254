/**
 * Hearth's stats in Docker's shape (src/api/docker/shapes/stats.ts): the figures `docker stats` computes from it come
 * out as Hearth's say they should.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerStats } from '../../../src/api/docker/shapes/stats.ts';
import type { ContainerStats } from '../../../src/containers/manager.ts';

const MiB = 2 ** 20;

function reading(at: string, usageNs: number, guestTotalNs: number, more: Partial<ContainerStats> = {}): ContainerStats {
  return {
    read: at,
    cpu: {
      usage_ns: usageNs, user_ns: usageNs * 0.75, system_ns: usageNs * 0.25, guest_total_ns: guestTotalNs, online_cpus: 2,
      limit_cpus: 2, vcpus: 2, host_ns: 9e9, host_user_ns: 6e9, host_system_ns: 3e9,
    },
    memory: {
      usage_bytes: 110 * MiB, limit_bytes: 256 * MiB, anon_bytes: 100 * MiB, file_bytes: 10 * MiB, inactive_file_bytes: 4 * MiB,
      oom_kills: 0, vm_bytes: 302 * MiB, host_resident_bytes: 180 * MiB, host_private_bytes: 150 * MiB,
    },
    network: { rx_bytes: 5338, rx_packets: 36, rx_errors: 0, rx_dropped: 0, tx_bytes: 648, tx_packets: 8, tx_errors: 0, tx_dropped: 1 },
    block_io: [
      { disk: 'rootfs', read_bytes: 4_000_000, write_bytes: 0, read_ops: 100, write_ops: 0, flush_ops: 0 },
      { disk: 'scratch', read_bytes: 8192, write_bytes: 1_000_000, read_ops: 2, write_ops: 40, flush_ops: 3 },
    ],
    pids: { current: 3 },
    ...more,
  };
}

describe("Docker's stats shape", () => {
  const before = reading('2025-01-01T00:00:00.000Z', 1e9, 100e9);
  // A second later: 1.5 s of CPU over the guest's 2 s (2 vCPUs): 75% of the VM, 150% of one CPU as Docker shows it.
  const now = reading('2025-01-01T00:00:01.000Z', 2.5e9, 102e9);
  const d = dockerStats(now, before, { id: 'a'.repeat(64), name: 'web' });

  it('gives docker stats its CPU percentage: cpu delta over the system delta, times the CPUs', () => {
    const cpuDelta = d.cpu_stats.cpu_usage.total_usage - d.precpu_stats.cpu_usage.total_usage;
    const systemDelta = d.cpu_stats.system_cpu_usage! - d.precpu_stats.system_cpu_usage!;
    assert.equal((cpuDelta / systemDelta) * d.cpu_stats.online_cpus! * 100, 150);
    assert.deepEqual(d.cpu_stats.cpu_usage, { total_usage: 2.5e9, usage_in_kernelmode: 0.625e9, usage_in_usermode: 1.875e9 });
    assert.deepEqual(d.cpu_stats.throttling_data, { periods: 0, throttled_periods: 0, throttled_time: 0 });
  });

  it('gives its memory figure: usage less inactive_file, against the limit', () => {
    const m = d.memory_stats;
    assert.equal(m.usage! - m.stats!.inactive_file!, 106 * MiB);
    assert.equal(m.limit, 256 * MiB);
    assert.deepEqual(m.stats, { anon: 100 * MiB, file: 10 * MiB, inactive_file: 4 * MiB });
  });

  it('names it, dates it and its previous reading, and carries pids, eth0 and each disk both ways', () => {
    assert.deepEqual([d.name, d.id, d.read, d.preread], ['/web', 'a'.repeat(64), now.read, before.read]);
    assert.deepEqual(d.pids_stats, { current: 3 });
    assert.deepEqual(d.networks, { eth0: now.network });
    assert.deepEqual(d.blkio_stats.io_service_bytes_recursive, [
      { major: 254, minor: 0, op: 'read', value: 4_000_000 },
      { major: 254, minor: 0, op: 'write', value: 0 },
      { major: 254, minor: 16, op: 'read', value: 8192 },
      { major: 254, minor: 16, op: 'write', value: 1_000_000 },
    ]);
    assert.equal(d.blkio_stats.io_serviced_recursive, null, 'cgroup v2 fills only io_service_bytes_recursive');
  });

  it('has a zero previous reading for a single one, and leaves out what the guest did not report', () => {
    const quiet = reading('2025-01-01T00:00:02.000Z', 0, 0, { network: null, pids: { current: null } });
    const alone = dockerStats({ ...quiet, memory: { ...quiet.memory, usage_bytes: null, limit_bytes: null, inactive_file_bytes: null }, cpu: { ...quiet.cpu, guest_total_ns: null, online_cpus: null } }, null, { id: 'b'.repeat(64), name: 'x' });
    assert.equal(alone.preread, '0001-01-01T00:00:00Z');
    assert.deepEqual(alone.precpu_stats.cpu_usage, { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 });
    assert.equal(alone.cpu_stats.system_cpu_usage, undefined);
    assert.equal(alone.cpu_stats.online_cpus, 2, 'the VM\'s vCPUs when the guest did not say');
    assert.equal(alone.memory_stats.usage, undefined);
    assert.equal(alone.memory_stats.limit, 302 * MiB, "the VM's memory when there is no limit to report");
    assert.deepEqual(alone.pids_stats, {});
    assert.equal(alone.networks, undefined);
  });
});
