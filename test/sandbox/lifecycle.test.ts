/** Stopping, isolation between VMs of one image, and adoption of a running VM by a fresh process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isAlive } from '../../src/vmm/process.ts';
import { collect, makeLauncher, vmSuite } from '../helpers/vm-env.ts';
import { assertGone, runToExit, sandboxSpec } from '../helpers/run-vm.ts';

const SIGTERM = 15;
const sh = (script: string) => ({ config: { cmd: ['/bin/sh', '-c', script] } });

const suite = vmSuite();

describe('microVM lifecycle', () => {

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

  it('tells each launch step as it ends: the scratch disk, the template, the VMM, the connection, then the greeting', async () => {
    const spec = sandboxSpec({ image: suite.busybox, ...sh('echo ready') });
    const told: string[] = [];
    const sandbox = await suite.env.launcher.launch({ ...spec, onStep: (step) => told.push(step) });
    assert.deepEqual(told, ['scratch', 'template', 'vmm', 'connect'], 'told before launch resolves, in order');
    const exit = await sandbox.wait();
    assert.equal(exit?.code, 0);
    assert.deepEqual(told, ['scratch', 'template', 'vmm', 'connect', 'hello'], 'the greeting came before the process ran');
    await assertGone(suite.env, sandbox);
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
    const left = await launchAndLeave('b=$(cat /proc/sys/kernel/random/boot_id); while true; do echo "tick $b"; sleep 0.2; done', 'tick');
    const bootId = left.line.split(' ')[1]!;
    assert.equal(await isAlive(left.pid), true, 'the VM outlived its launcher');

    const launcher = await makeLauncher(suite.env.vmsDir);
    assert.deepEqual(await launcher.list(), [left.id]);
    const sandbox = await launcher.adopt(left.id);
    assert.ok(sandbox, 'adopted');
    assert.equal(sandbox.info.pid, left.pid, 'the same VMM process');
    const c = collect(sandbox);
    await waitFor(() => /tick \S+\n/.test(c.stdout));
    assert.match(c.stdout, new RegExp(`tick ${bootId}`), 'the same guest boot, not a reboot');
    await sandbox.stop({ signal: SIGTERM, graceMs: 2_000 });
    assert.equal((await sandbox.wait())?.code, 143, 'sh dies of SIGTERM: 128+15');
    await assertGone(suite.env, sandbox);
  });

  it('delivers what the process wrote while no host was connected, in order', async () => {
    const left = await launchAndLeave('i=0; while true; do i=$((i+1)); echo "n $i"; sleep 0.1; done', 'n 1');
    await new Promise((r) => setTimeout(r, 1_500));
    const sandbox = await (await makeLauncher(suite.env.vmsDir)).adopt(left.id);
    assert.ok(sandbox);
    const c = collect(sandbox);
    await waitFor(() => (c.stdout.match(/\n/g) ?? []).length >= 20);
    const seen = c.stdout.trim().split('\n').map((l) => Number(l.split(' ')[1]));
    // ~15 lines were written while no host was connected; a line or two in flight at the moment the old
    // host let go may be lost (QEMU drops them), the rest must arrive.
    assert.ok(seen[0]! < 10, `the backlog from the disconnection is there (first line seen: ${seen[0]})`);
    seen.forEach((n, i) => assert.equal(n, seen[0]! + i, 'no line lost after adoption'));
    await sandbox.kill();
    await assertGone(suite.env, sandbox);
  });

  it('collects an exit that happened while no host was connected, and the VM then powers off', async () => {
    const left = await launchAndLeave('echo begin; sleep 0.5; echo end; exit 9', 'begin');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await isAlive(left.pid), true, 'the guest holds its exit until a host acknowledges it');
    const launcher = await makeLauncher(suite.env.vmsDir);
    const sandbox = await launcher.adopt(left.id);
    assert.ok(sandbox);
    const c = collect(sandbox);
    const exit = await sandbox.wait();
    assert.deepEqual(exit, { code: 9, signal: null });
    assert.match(c.stdout, /end\n/);
    assert.deepEqual(await launcher.exitOf(left.id), { code: 9, signal: null }, 'the exit is kept in the run directory');
    await assertGone(suite.env, sandbox);
  });

  it('purges a VM whose launcher died before recording it, VMM and all', async () => {
    const left = await launchAndLeave('while true; do echo alive; sleep 0.2; done', 'alive');
    await rm(path.join(suite.env.vmsDir, left.id, 'sandbox.json'));
    const launcher = await makeLauncher(suite.env.vmsDir);
    assert.equal(await launcher.adopt(left.id), undefined, 'nothing to adopt without its record');
    await launcher.purge(left.id);
    assert.equal(await isAlive(left.pid), false, 'the VMM is ended, not left holding its disks');
    assert.deepEqual(await launcher.list(), []);
  });

  it('adopts nothing when the VM is gone', async () => {
    const launcher = await makeLauncher(suite.env.vmsDir);
    assert.equal(await launcher.adopt('00000000-0000-4000-8000-000000000000'), undefined);
  });
});

async function launchAndLeave(script: string, mark: string): Promise<{ id: string; pid: number; line: string }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.resolve(import.meta.dirname, '../fixtures/launch-and-leave.ts'), suite.env.vmsDir, suite.busybox, script, mark],
    { timeout: 120_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as { id: string; pid: number; line: string };
}

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
