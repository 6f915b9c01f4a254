/**
 * What keeps an idle microVM cheap under TCG (figures: npm run bench:density): its guest's timer is the local
 * APIC's at the rate given on the command line (the PIT would wake it every 27 ms), and its virtqueues are
 * capped (QEMU offers 1024 entries, which the guest's drivers fill with buffers).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ending, execSpec, execToEnd, runningContainer } from '../helpers/exec-run.ts';
import { vmSuite } from '../helpers/vm-env.ts';

describe('an idle microVM under TCG', () => {
  const suite = vmSuite();

  it('runs on the local APIC timer, with capped virtqueues', async () => {
    const vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000');
    try {
      const guest = async (path: string) => (await execToEnd(vm, execSpec(['cat', path]))).stdout.toString().trim();
      assert.equal(await guest('/sys/devices/system/clockevents/clockevent0/current_device'), 'lapic');
      assert.equal(await guest('/sys/module/virtio_mmio/parameters/queue_max'), '128');
      const interrupts = await guest('/proc/interrupts');
      assert.doesNotMatch(interrupts, /^\s*0:.*\btimer$/m, 'no PIT interrupt line');
    } finally {
      await ending(vm);
    }
  });
});
