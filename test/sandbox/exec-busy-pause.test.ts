/**
 * Beside a main process that writes output as fast as it can: an exec still gets through, `top` lists both,
 * and pause stops the vCPUs (QMP says paused, the VMM uses next to no CPU) until resume, after which the guest
 * clock agrees with the host's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { QmpClient } from '../../src/vmm/qemu/qmp.ts';
import { ending, execSpec, execToEnd, gather, runningContainer } from '../helpers/exec-run.ts';
import { vmSuite } from '../helpers/vm-env.ts';

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('exec beside a busy main process, top, pause and resume', () => {
  const suite = vmSuite();

  it('works while the main process floods its output', async () => {
    const vm = await runningContainer(suite.env, suite.busybox, 'while :; do echo busy-main-process-line; done');
    let mainBytes = 0;
    vm.on('output', (c) => (mainBytes += c.data.length));
    try {
      for (const giveUp = Date.now() + 60_000; mainBytes === 0; await sleep(20)) assert.ok(Date.now() < giveUp, 'the main process writes');
      const before = mainBytes;
      const r = await execToEnd(vm, execSpec(['sh', '-c', 'echo from-exec; exit 4']));
      assert.deepEqual(r.exit, { code: 4, signal: null });
      assert.equal(r.stdout.toString(), 'from-exec\n');
      assert.ok(mainBytes > before, 'the main process was writing meanwhile');

      // top: the main process and a running exec, with user, command line and figures.
      const session = await vm.exec(execSpec(['sleep', '300'], { user: 'app' }));
      const sleeping = gather(session);
      const pid = await new Promise<number>((resolve) => session.once('started', ({ pid: p }) => resolve(p)));
      const list = await vm.top();
      const main = list.find((p) => p.command.includes('busy-main-process-line'));
      const exec = list.find((p) => p.pid === pid);
      assert.ok(main, `the main process is listed: ${JSON.stringify(list)}`);
      assert.equal(main.user, 'root');
      assert.ok(main.cpuTimeMs > 0 && main.rssBytes > 0, JSON.stringify(main));
      assert.ok(exec, `the exec is listed: ${JSON.stringify(list)}`);
      assert.equal(exec.command, 'sleep 300');
      assert.equal(exec.user, 'app');
      assert.ok(!list.some((p) => p.pid === 1), 'the agent itself is not listed');
      session.signal(9);
      assert.equal((await sleeping).exit?.code, 137);

      // pause: QMP says paused, the VMM's CPU time stands nearly still, no output arrives.
      const qmp = (vm as unknown as { vm: { qmp: QmpClient } }).vm.qmp;
      const vmmPid = vm.info.pid;
      let t0 = cpuTicks(vmmPid);
      await sleep(1000);
      const running = cpuTicks(vmmPid) - t0;
      await vm.pause();
      assert.deepEqual(((await qmp.execute('query-status')) as { status: string }).status, 'paused');
      await sleep(300); // what was in flight arrives
      const bytesAtPause = mainBytes;
      t0 = cpuTicks(vmmPid);
      await sleep(1000);
      const paused = cpuTicks(vmmPid) - t0;
      assert.equal(mainBytes, bytesAtPause, 'no output while paused');
      assert.ok(paused * 10 < running, `CPU ticks over ~1 s: ${paused} paused against ${running} running`);
      await sleep(3000); // the guest clock would fall this far behind

      await vm.resume();
      assert.deepEqual(((await qmp.execute('query-status')) as { status: string }).status, 'running');
      const date = await execToEnd(vm, execSpec(['date', '+%s']));
      const guest = Number(date.stdout.toString().trim());
      assert.ok(Math.abs(guest - Date.now() / 1000) <= 2, `guest clock ${guest}, host ${Date.now() / 1000}`);
      await sleep(300);
      assert.ok(mainBytes > bytesAtPause, 'the main process writes again');
    } finally {
      await ending(vm);
    }
  });
});
