/**
 * VmTemplates over a fake driver (the VMM's side is tested with real VMs in snapshots.test.ts): which template a
 * shape gets, when one is built, and that one made from other inputs is never used.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VmTemplates, type TemplateShape } from '../../src/sandbox/vm-templates.ts';
import type { SavedVm, VmConfig, VmmDriver, VmProcess } from '../../src/vmm/driver.ts';

const SHAPE: TemplateShape = { vcpus: 1, memoryMib: 171, drives: [{ id: 'rootfs', serial: 'rootfs', readOnly: true, sizeBytes: 2 ** 30 }], nic: true };

/** A driver whose VMs save `state of <inputs>` (their RAM `ram of <inputs>`); counts the VMs it started, and the saved VMs it was told to forget. */
function fakeDriver(inputs: { value: string }, options: { failSave?: boolean; tag?: string } = {}): VmmDriver & { started: VmConfig[]; forgotten: SavedVm[] } {
  const tag = options.tag ?? '';
  const started: VmConfig[] = [];
  const forgotten: SavedVm[] = [];
  return {
    name: 'qemu',
    started,
    forgotten,
    stateInputs: async () => inputs.value,
    forgetSaved: (saved) => void forgotten.push(saved),
    start: async (config) => {
      started.push(config);
      if (config.memoryFile) await writeFile(config.memoryFile, `ram of ${inputs.value}${tag}`);
      const vm: Partial<VmProcess> = {
        id: config.id,
        exited: new Promise(() => undefined),
        controlOpened: async () => undefined,
        saveState: async (file) => {
          if (options.failSave) throw new Error('no room');
          // As long as saving a real VM takes, so that builds running at once overlap.
          await new Promise((r) => setTimeout(r, 20));
          await writeFile(file, `state of ${inputs.value}${tag}`);
        },
        terminate: async () => undefined,
      };
      return vm as VmProcess;
    },
    adopt: async () => undefined,
    destroy: async () => undefined,
    findAll: async () => [],
  };
}

describe('VM templates', () => {
  let dir: string;
  let guest: { kernel: string; initramfs: string; bareInitramfs: string };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-templates-'));
    guest = { kernel: path.join(dir, 'vmlinux'), initramfs: path.join(dir, 'initramfs'), bareInitramfs: path.join(dir, 'bare') };
    await writeFile(guest.kernel, 'kernel 1');
    await writeFile(guest.initramfs, 'initramfs 1');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const templates = (driver: VmmDriver) => new VmTemplates({ dir: path.join(dir, 'templates'), vmsDir: path.join(dir, 'vms'), driver, guest });

  it('builds one per shape, once, even when asked for it at once; the build VM has stand-in disks and a NIC wired to nothing', async () => {
    const driver = fakeDriver({ value: 'qemu A' });
    const t = templates(driver);
    const [a, b] = await Promise.all([t.ensure(SHAPE), t.ensure(SHAPE)]);
    assert.deepEqual(a, b);
    assert.equal(driver.started.length, 1);
    assert.equal(await readFile(a.saved.state, 'utf8'), 'state of qemu A');
    assert.equal(await readFile(a.saved.memory, 'utf8'), 'ram of qemu A', 'the build VM\'s RAM file is the template\'s');
    assert.equal((await stat(a.saved.memory)).mode & 0o777, 0o600, 'only root may open it');
    assert.deepEqual((await readdir(path.dirname(a.saved.state))).sort(), ['ram', 'state', 'template.json'], 'no partial file is left');
    const vm = driver.started[0]!;
    assert.deepEqual(vm.nics, [{ id: 'net0', mac: '02:00:00:00:00:01' }]);
    assert.deepEqual(vm.drives.map((d) => [d.id, d.serial, d.readOnly, path.basename(d.path)]), [['rootfs', 'rootfs', true, 'rootfs.standin']]);
    assert.deepEqual(await readdir(path.join(dir, 'vms')), [], 'the build VM left nothing');

    assert.deepEqual(await templates(driver).ensure(SHAPE), a, 'a new process finds it');
    assert.equal(driver.started.length, 1);
    const other = await t.ensure({ ...SHAPE, memoryMib: 300 });
    assert.notEqual(other.key, a.key, 'another shape, another template');
  });

  it('never uses one made from other inputs: another VMM, kernel or initramfs builds anew and the old ones go', async () => {
    const inputs = { value: 'qemu A' };
    const first = await templates(fakeDriver(inputs)).ensure(SHAPE);
    inputs.value = 'qemu B';
    const driver = fakeDriver(inputs);
    const second = await templates(driver).ensure(SHAPE);
    assert.notEqual(second.key, first.key);
    assert.equal(driver.started.length, 1, 'built anew');
    assert.equal(await readFile(second.saved.state, 'utf8'), 'state of qemu B');
    assert.ok(!(await readdir(path.join(dir, 'templates'))).includes(first.key), 'the old one is removed');
    assert.ok(driver.forgotten.some((f) => f.memory === first.saved.memory), 'and the driver lets go of its RAM');

    await writeFile(guest.kernel, 'kernel 2');
    const third = await templates(fakeDriver(inputs)).ensure(SHAPE);
    assert.notEqual(third.key, second.key, 'a new kernel is another input');

    const older = path.join(dir, 'templates', 'e'.repeat(32));
    await mkdir(older, { recursive: true });
    const current = JSON.parse(await readFile(path.join(path.dirname(third.saved.state), 'template.json'), 'utf8')).inputs;
    await writeFile(path.join(older, 'template.json'), JSON.stringify({ format: 2, inputs: current }));
    await templates(fakeDriver(inputs)).ensure({ ...SHAPE, memoryMib: 99 });
    const left = await readdir(path.join(dir, 'templates'));
    assert.ok(!left.includes('e'.repeat(32)), 'one of an older format goes too');
    assert.ok(left.includes(third.key), 'a current one stays');
  });

  it('fails with HEARTH_ERR_TEMPLATE when it cannot be built, and does not try the shape again at once', async () => {
    const driver = fakeDriver({ value: 'qemu C' }, { failSave: true });
    const t = templates(driver);
    await assert.rejects(t.ensure(SHAPE), (e: Error & { code?: string }) => e.code === 'HEARTH_ERR_TEMPLATE' && /building a VM template failed: no room/.test(e.message));
    await assert.rejects(t.ensure(SHAPE), (e: Error & { code?: string }) => e.code === 'HEARTH_ERR_TEMPLATE' && /building it failed \d+ s ago: .*no room/.test(e.message));
    assert.equal(driver.started.length, 1, 'not retried at once');
    assert.deepEqual((await readdir(path.join(dir, 'templates'))).filter((n) => n.includes('.building-')), [], 'a failed build leaves nothing');
  });

  it('keeps a template\'s RAM and state together when two managers build it at once, and removes builds whose manager died', async () => {
    const inputs = { value: 'qemu D' };
    const stale = path.join(dir, 'templates', 'f'.repeat(32) + '.building-999999999');
    await mkdir(stale, { recursive: true });
    await writeFile(path.join(stale, 'ram'), 'half a build');
    const [a, b] = await Promise.all([templates(fakeDriver(inputs, { tag: ' by A' })).ensure(SHAPE), templates(fakeDriver(inputs, { tag: ' by B' })).ensure(SHAPE)]);
    assert.deepEqual(a, b);
    const ram = await readFile(a.saved.memory, 'utf8');
    const state = await readFile(a.saved.state, 'utf8');
    assert.equal(ram.replace('ram of', ''), state.replace('state of', ''), `one build's RAM and state: ${ram} / ${state}`);
    const left = await readdir(path.join(dir, 'templates'));
    assert.deepEqual(left.filter((n) => n.includes('.building-')), [], 'neither build is left, nor the dead manager\'s');
  });

  it('discards only the build that failed: one another manager made meanwhile stays', async () => {
    const inputs = { value: 'qemu E' };
    const mine = templates(fakeDriver(inputs));
    const failed = await mine.ensure(SHAPE);
    await rm(path.dirname(failed.saved.state), { recursive: true });
    const rebuilt = await templates(fakeDriver(inputs, { tag: ' again' })).ensure(SHAPE);
    assert.notEqual(rebuilt.build, failed.build);
    await mine.discard(failed);
    assert.equal(await readFile(rebuilt.saved.state, 'utf8'), 'state of qemu E again', 'the new build is kept');
    await mine.discard(rebuilt);
    await assert.rejects(readFile(rebuilt.saved.state), { code: 'ENOENT' });
  });

  it('replaces a directory under the key that holds no whole template', async () => {
    const inputs = { value: 'qemu F' };
    const first = await templates(fakeDriver(inputs)).ensure(SHAPE);
    await rm(path.join(path.dirname(first.saved.state), 'template.json'));
    const again = await templates(fakeDriver(inputs, { tag: ' anew' })).ensure(SHAPE);
    assert.equal(await readFile(again.saved.state, 'utf8'), 'state of qemu F anew');
  });
});
