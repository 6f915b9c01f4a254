/**
 * Finding a VMM again whatever became of its records: by its tag, by its jail uid when its tag is gone, by
 * its command line when it was started before tags existed (an upgrade), and never a stranger's process
 * that carries a tag.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QEMU_BINARY } from '../../src/tools/qemu.ts';
import { isAlive, processUid, waitUntilGone } from '../../src/vmm/process.ts';
import { QemuDriver } from '../../src/vmm/qemu/driver.ts';
import { RUN_DIR_TAG } from '../../src/vmm/qemu/vmm-identity.ts';

const UIDS = { base: 1_900_000_000, count: 1_000_000 };
const driver = new QemuDriver({ accel: 'tcg', baseKernelArgs: [], jailUids: UIDS });

describe('VMM identity', () => {
  let vmsDir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    vmsDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'hearth-identity-')), 'vms');
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(path.dirname(vmsDir), { recursive: true, force: true });
  });
  const start = (program: string, args: string[], env: Record<string, string> = {}) => {
    const child = spawn(program, args, { stdio: 'ignore', env: { PATH: process.env.PATH!, ...env } });
    children.push(child);
    return child.pid!;
  };
  const runDirOf = async (id: string) => {
    const runDir = path.join(vmsDir, id);
    await mkdir(runDir, { recursive: true });
    return runDir;
  };

  it('adopts and ends a VMM started before tags existed, found by its record and its command line', async () => {
    const id = 'legacy-vm';
    const runDir = await runDirOf(id);
    const qmp = path.join(runDir, 'qmp.sock');
    const pid = start(QEMU_BINARY, [
      '-name', `hearth-${id}`, '-M', 'microvm', '-accel', 'tcg', '-nodefaults', '-no-user-config', '-display', 'none',
      '-qmp', `unix:${qmp},server=on,wait=off`,
    ]);
    await writeFile(path.join(runDir, 'vmm.json'), JSON.stringify({ pid, accel: 'tcg', name: `hearth-${id}` }));
    await waitFor(async () => (await driver.findAll(vmsDir)).some((v) => v.pid === pid));
    // QEMU is found by its command line from its first instant; its QMP socket comes a little later.
    await waitFor(() => stat(qmp).then(() => true, () => false));
    const vm = await driver.adopt(runDir);
    assert.equal(vm?.pid, pid, 'adopted through its old socket path');
    vm!.detach();
    await rm(path.join(runDir, 'vmm.json'));
    await driver.destroy(runDir);
    assert.equal(await isAlive(pid), false, 'ended even with its record gone');
  });

  it('ends a jailed VMM that erased its tag, by its uid', async () => {
    const runDir = await runDirOf('untagged-vm');
    const uid = UIDS.base + 4242;
    const pid = start('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'sleep', '600']);
    await waitFor(async () => (await processUid(pid)) === uid);
    await writeFile(path.join(runDir, 'vmm.json'), JSON.stringify({ name: 'hearth-untagged-vm', accel: 'tcg', runDir, jailed: true, uid, pid: null }));
    await driver.destroy(runDir);
    assert.ok(await waitUntilGone(pid, 5_000), 'killed by its uid');
  });

  it('ignores a process outside root and the jail range that carries a tag', async () => {
    const runDir = await runDirOf('forged-vm');
    const pid = start('setpriv', ['--reuid=54321', '--regid=54321', '--clear-groups', 'sleep', '600'], { [RUN_DIR_TAG]: runDir });
    await waitFor(() => isAlive(pid));
    assert.deepEqual((await driver.findAll(vmsDir)).filter((v) => v.pid === pid), []);
    await driver.destroy(runDir);
    assert.equal(await isAlive(pid), true, "a local user's process is never taken for a VMM");
  });

  it('finds a tagged VMM with no record at all', async () => {
    const runDir = await runDirOf('tagged-vm');
    const pid = start('sleep', ['600'], { [RUN_DIR_TAG]: runDir });
    await waitFor(async () => (await driver.findAll(vmsDir)).some((v) => v.pid === pid));
    await driver.destroy(runDir);
    assert.equal(await isAlive(pid), false);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
