/**
 * Memory a booted guest frees goes back to the host (virtio-balloon free page reporting): a VM whose guest
 * filled and then freed 200 MiB costs the host about what it did before. (A VM resumed from a template maps
 * its RAM from the template's file and has no balloon: see src/tools/qemu.ts.)
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { MicroVmLauncher } from '../../src/sandbox/microvm-launcher.ts';
import { memoryOf } from '../../src/vmm/process.ts';
import { ending, execSpec, execToEnd } from '../helpers/exec-run.ts';
import { sandboxSpec } from '../helpers/run-vm.ts';
import { collect, makeLauncher, vmSuite } from '../helpers/vm-env.ts';

const MIB = 2 ** 20;
const FILL_MIB = 200;

describe('memory a booted guest frees', () => {
  const suite = vmSuite();
  let booting: MicroVmLauncher;
  before(async () => {
    booting = await makeLauncher(suite.env.vmsDir, true, false);
  });

  it('goes back to the host', async () => {
    const vm = await booting.launch(sandboxSpec({ image: suite.busybox, memoryMib: 512, config: { cmd: ['/bin/sh', '-c', 'echo up; exec sleep 100000'] } }));
    try {
      await collect(vm).started;
      assert.equal(vm.info.template, null, 'it booted');
      const privateMib = async () => (await memoryOf(vm.info.pid))!.private / MIB;
      const fill = await execToEnd(vm, execSpec(['/bin/sh', '-c', `dd if=/dev/zero of=/tmp/fill bs=1M count=${FILL_MIB} 2>/dev/null && echo filled`]));
      assert.equal(fill.stdout.toString(), 'filled\n');
      const filled = await privateMib();
      const free = await execToEnd(vm, execSpec(['/bin/sh', '-c', 'rm /tmp/fill && echo freed']));
      assert.equal(free.stdout.toString(), 'freed\n');
      // The guest reports free blocks a couple of seconds after they gather.
      let now = filled;
      for (const end = Date.now() + 30_000; Date.now() < end && filled - now < FILL_MIB * 0.75; await new Promise((r) => setTimeout(r, 500))) now = await privateMib();
      assert.ok(filled - now >= FILL_MIB * 0.75, `the VMM's private memory went from ${filled.toFixed(0)} MiB (filled) to ${now.toFixed(0)} MiB (freed)`);
    } finally {
      await ending(vm);
    }
  });
});
