/**
 * A container's CPUs and memory inside a real microVM (QEMU microvm, TCG): the vCPUs the guest sees, the host's
 * cap on a fraction of a CPU, the memory limit of the container's cgroup (an OOM kill ends a process, not the
 * VM, and is reported), and the guest's and the host's figures of a sandbox's stats.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import { ending, execSpec, execToEnd, runningContainer } from '../helpers/exec-run.ts';
import { runToExit } from '../helpers/run-vm.ts';
import { vmSuite } from '../helpers/vm-env.ts';

const MiB = 2 ** 20;

/** The CPU quota of a process's cgroup, in cores (v1 or v2); null where it has none. */
async function hostCpuQuota(pid: number): Promise<number | null> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l));
  if (v1) {
    const dir = `/sys/fs/cgroup/cpu${v1.split(':')[2]}`;
    const [quota, period] = await Promise.all(['cpu.cfs_quota_us', 'cpu.cfs_period_us'].map((f) => readFile(`${dir}/${f}`, 'utf8')));
    return Number(quota) < 0 ? null : Number(quota) / Number(period);
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  const max = v2 ? await readFile(`/sys/fs/cgroup${v2.slice(3)}/cpu.max`, 'utf8').catch(() => null) : null;
  if (!max || max.startsWith('max')) return null;
  const [quota, period] = max.trim().split(' ').map(Number);
  return quota! / period!;
}

describe('resources of a microVM', () => {
  const suite = vmSuite();

  it('has as many CPUs as vCPUs (cpus rounded up); a fraction is capped on the host', async () => {
    for (const [cpus, vcpus, quota] of [[2, 2, 2.5], [1, 1, 1.5], [0.5, 1, 0.5]] as const) {
      const vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000', { cpus });
      try {
        assert.equal(vm.info.vcpus, vcpus);
        const r = await execToEnd(vm, execSpec(['nproc']));
        assert.equal(r.stdout.toString().trim(), String(vcpus), `nproc for cpus ${cpus}`);
        // Whole CPUs run free with half a core for QEMU's own threads; a fraction caps the whole VMM.
        assert.equal(await hostCpuQuota(vm.info.pid), quota, `host quota for cpus ${cpus}`);
      } finally {
        await ending(vm);
      }
    }
  });

  it('ends the main process at its memory limit with 137 and reports the OOM kill', async () => {
    const r = await runToExit(suite.env, { image: suite.busybox, config: { cmd: ['/bin/sh', '-c', 'head -c 200m /dev/zero | tail'] }, memoryMib: 64 });
    assert.deepEqual(r.exit, { code: 137, signal: null, oomKilled: true });
  });

  it('keeps the VM and its agent running when a command goes over the limit; stats count the kill', async () => {
    let vm: Sandbox | undefined;
    try {
      vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000', { memoryMib: 64 });
      const limit = await execToEnd(vm, execSpec(['sh', '-c', 'cat /proc/self/cgroup']));
      assert.equal(limit.stdout.toString().trim(), '0::/container', "an exec runs in the container's cgroup");
      const before = await vm.stats();
      assert.deepEqual([before.guest.memoryLimitBytes, before.guest.oomKills], [64 * MiB, 0]);
      const hog = await execToEnd(vm, execSpec(['sh', '-c', 'x=$(head -c 200m /dev/zero | tr "\\0" a); echo survived']));
      assert.deepEqual(hog.exit, { code: 137, signal: 9 });
      assert.equal(hog.stdout.toString(), '');
      const after = await execToEnd(vm, execSpec(['echo', 'still here']));
      assert.equal(after.stdout.toString(), 'still here\n', 'execs still work');
      assert.equal((await vm.stats()).guest.oomKills, 1);
      const exit = vm.wait();
      await vm.stop({ signal: 15, graceMs: 0 });
      assert.equal((await exit)?.oomKilled, true, "the main process's EXIT says a process of the container was OOM-killed");
    } finally {
      if (vm) await vm.release();
    }
  });

  it("reads the guest's cgroup and the host's VMM, disks and all", async () => {
    const vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000', { memoryMib: 96, cpus: 2 });
    try {
      const s = await vm.stats();
      assert.ok(Math.abs(s.at.getTime() - Date.now()) < 60_000);
      const g = s.guest;
      assert.equal(g.memoryLimitBytes, 96 * MiB);
      assert.equal(g.onlineCpus, 2);
      assert.equal(g.pids, 1, 'the sleep');
      for (const figure of [g.cpuUsageUsec, g.memoryUsageBytes, g.memoryFileBytes, g.guestCpuUsec]) assert.ok(figure! > 0, JSON.stringify(g));
      // The kernel splits the usage into user and system time, each rounded to a microsecond on its own.
      assert.ok(Math.abs(g.cpuUserUsec! + g.cpuSystemUsec! - g.cpuUsageUsec!) <= 2, JSON.stringify(g));
      assert.ok(g.guestCpuUsec! > g.cpuUsageUsec!, "the guest's whole CPU time (idle too) is more than the container's");
      assert.ok(s.vmm.cpuUserNs + s.vmm.cpuSystemNs > 0);
      assert.ok(s.vmm.residentBytes >= s.vmm.privateBytes && s.vmm.privateBytes > 0);
      assert.deepEqual(s.vmm.disks.map((d) => d.id), ['rootfs', 'scratch']);
      assert.ok(s.vmm.disks[0]!.readBytes > 0, 'the image disk was read');
      assert.equal(s.vmm.disks[0]!.writeBytes, 0, 'the image disk is read-only');
    } finally {
      await ending(vm);
    }
  });
});
