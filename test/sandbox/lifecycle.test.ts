/** Stopping, isolation between VMs of one image, and adoption of a running VM by a fresh process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isAlive } from '../../src/vmm/process.ts';
import { collect, makeLauncher, vmSuite } from '../helpers/vm-env.ts';
import { assertGone, runToExit } from '../helpers/run-vm.ts';

const SIGTERM = 15;
const sh = (script: string) => ({ config: { cmd: ['/bin/sh', '-c', script] } });

describe('microVM lifecycle', () => {
  const suite = vmSuite();

  it('stops a process that traps SIGTERM gracefully', async () => {
    const r = await runToExit(suite.env, { image: suite.busybox, ...sh('trap "echo graceful; exit 3" TERM; echo ready; while true; do sleep 0.1; done') }, async (sandbox, c) => {
      await c.started;
      await waitFor(() => c.stdout.includes('ready'));
      await sandbox.stop({ signal: SIGTERM, graceMs: 10_000 });
    });
    assert.equal(r.exit?.code, 3);
    assert.match(r.stdout, /graceful/);
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    let stoppedIn = 0;
    const r = await runToExit(suite.env, { image: suite.busybox, ...sh('trap "" TERM; echo ready; while true; do sleep 0.1; done') }, async (sandbox, c) => {
      await waitFor(() => c.stdout.includes('ready'));
      const t = Date.now();
      await sandbox.stop({ signal: SIGTERM, graceMs: 1_000 });
      stoppedIn = Date.now() - t;
    });
    assert.equal(r.exit?.code, 137);
    assert.ok(stoppedIn >= 1_000, `the grace period was given (${stoppedIn} ms)`);
  });

  it('gives two VMs of one image disk their own writes', async () => {
    const script = (mark: string) => `cat /data/mark 2>/dev/null || echo none; echo ${mark} > /data/mark; sleep 1; cat /data/mark`;
    const [a, b] = await Promise.all([
      runToExit(suite.env, { image: suite.busybox, ...sh(script('A')) }),
      runToExit(suite.env, { image: suite.busybox, ...sh(script('B')) }),
    ]);
    assert.equal(a.stdout, 'none\nA\n');
    assert.equal(b.stdout, 'none\nB\n');
  });

  it('keeps running when its launcher exits, and a fresh process adopts and stops it', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.resolve(import.meta.dirname, '../fixtures/launch-and-leave.ts'), suite.env.vmsDir, suite.busybox],
      { timeout: 120_000 },
    );
    const left = JSON.parse(stdout.trim().split('\n').pop()!) as { id: string; pid: number; bootId: string };
    assert.equal(await isAlive(left.pid), true, 'the VM outlived its launcher');

    const launcher = await makeLauncher(suite.env.vmsDir);
    assert.deepEqual(await launcher.list(), [left.id]);
    const sandbox = await launcher.adopt(left.id);
    assert.ok(sandbox, 'adopted');
    assert.equal(sandbox.info.pid, left.pid, 'the same VMM process');
    const c = collect(sandbox);
    await waitFor(() => /tick \S+\n/.test(c.stdout));
    assert.match(c.stdout, new RegExp(`tick ${left.bootId}`), 'the same guest boot, not a reboot');
    await sandbox.stop({ signal: SIGTERM, graceMs: 2_000 });
    assert.equal((await sandbox.wait())?.code, 143, 'sh dies of SIGTERM: 128+15');
    await assertGone(suite.env, sandbox);
  });

  it('adopts nothing when the VM is gone', async () => {
    const launcher = await makeLauncher(suite.env.vmsDir);
    assert.equal(await launcher.adopt('00000000-0000-4000-8000-000000000000'), undefined);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
