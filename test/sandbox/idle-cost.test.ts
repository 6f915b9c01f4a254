/**
 * What keeps an idle microVM cheap under TCG (figures: npm run bench:density): its guest's timer is the local
 * APIC's at the rate given on the command line (the PIT would wake it every 27 ms), its virtqueues are capped
 * (QEMU offers 1024 entries, which the guest's drivers fill with buffers), and its RAM is a memfd (anonymous
 * RAM would come in transparent huge pages, 2 MiB for every page the guest touches).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ending, execSpec, execToEnd, runningContainer } from '../helpers/exec-run.ts';
import { vmSuite } from '../helpers/vm-env.ts';

describe('an idle microVM under TCG', () => {
  const suite = vmSuite();

  it('runs on the local APIC timer, with capped virtqueues and its RAM in a memfd', async () => {
    const vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000');
    try {
      const guest = async (path: string) => (await execToEnd(vm, execSpec(['cat', path]))).stdout.toString().trim();
      assert.equal(await guest('/sys/devices/system/clockevents/clockevent0/current_device'), 'lapic');
      assert.equal(await guest('/sys/module/virtio_mmio/parameters/queue_max'), '128');
      const interrupts = await guest('/proc/interrupts');
      assert.doesNotMatch(interrupts, /^\s*0:.*\btimer$/m, 'no PIT interrupt line');

      const maps = await readFile(`/proc/${vm.info.pid}/maps`, 'utf8');
      assert.match(maps, /\/memfd:memory-backend-memfd/, "the guest's RAM is a memfd mapping");
    } finally {
      await ending(vm);
    }
  });
});
