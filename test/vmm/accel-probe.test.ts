/** The accelerator is chosen by booting a probe VM under KVM, not by the presence of /dev/kvm. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { locateGuestArtifacts } from '../../src/sandbox/guest-artifacts.ts';
import { chooseAccel, probeKvm } from '../../src/vmm/qemu/accel-probe.ts';
import { qemuKernelArgs } from '../../src/vmm/qemu/kernel-args.ts';
import { CACHE_DIR } from '../helpers/vm-env.ts';

describe('accelerator choice', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-accel-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('takes a configured accelerator as it is, without probing', async () => {
    const choice = await chooseAccel('tcg', { kernel: '/nonexistent', bareInitrd: '/nonexistent', baseKernelArgs: [], cacheFile: path.join(dir, 'unused.json') });
    assert.deepEqual(choice, { accel: 'tcg', reason: 'accel=tcg set in the configuration' });
  });

  it('falls back to TCG, saying why, when the probe VM cannot boot', async () => {
    const choice = await probeKvm({ kernel: path.join(dir, 'no-kernel'), bareInitrd: path.join(dir, 'no-initrd'), baseKernelArgs: [], cacheFile: path.join(dir, 'x.json') });
    assert.equal(choice.accel, 'tcg');
    assert.match(choice.reason, /\/dev\/kvm|exited with|did not boot|without running/);
  });

  it('probes this host once per boot, and KVM only wins by booting', async () => {
    const guest = await locateGuestArtifacts(CACHE_DIR);
    const options = { kernel: guest.kernel, bareInitrd: guest.bareInitramfs, baseKernelArgs: await qemuKernelArgs('kvm'), cacheFile: path.join(dir, 'accel.json') };
    const first = await chooseAccel('auto', options);
    if (first.accel === 'kvm') assert.match(first.reason, /KVM booted the probe VM in \d+ ms/);
    else assert.ok(first.reason.length > 0);
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    if (!/\b(vmx|svm)\b/.test(cpuinfo)) assert.equal(first.accel, 'tcg', 'no hardware virtualisation: KVM here is emulated and must lose');
    const kept = JSON.parse(await readFile(options.cacheFile, 'utf8')) as { accel: string; bootId: string };
    assert.equal(kept.accel, first.accel);
    assert.equal(kept.bootId, (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim());
    const second = await chooseAccel('auto', options);
    assert.equal(second.accel, first.accel);
    assert.match(second.reason, /probed earlier this boot/);
  });
});
