/**
 * Kernel arguments every QEMU microVM gets. Measured under TCG on 2-core hosts: the guest's TSC
 * calibration sometimes hangs under TCG unless it is told the TSC rate, and `no_timer_check` saves
 * time at boot. The guest's timer under TCG is the local APIC's, at the rate QEMU's emulated APIC runs:
 * `lapic_timer_hz` (a parameter of Hearth's kernel, guest/kernel/patches) spares the ~0.3 s of
 * calibrating it against the PIT, and an idle tickless guest then sleeps until its next timer. The
 * PIT instead (`nolapic_timer`) can count at most 27 ms ahead: it woke every idle guest ~37 times a
 * second, 0.9-1.1% of a host CPU per idle container against 0.1-0.2%. Under KVM the arguments stay
 * as they were (the PIT): there is no working KVM here to measure a change on. `reboot=t` (triple
 * fault) is the reset microvm has; with -no-reboot it ends QEMU. `panic=-1` turns a guest panic into
 * the same.
 */
import { constants } from 'node:fs';
import { access, open, readFile } from 'node:fs/promises';
import type { Accel } from '../driver.ts';

/**
 * Every virtqueue's size. QEMU's virtio-mmio offers 1024 entries whatever the device, and the guest's
 * drivers fill them: the control channel's virtio-serial held 2048 pages (8 MiB) of receive buffers, the
 * NIC and disks more. `virtio_mmio.queue_max` is a parameter of Hearth's kernel (guest/kernel/patches).
 */
const VIRTIO_QUEUE_MAX = 128;

/** QEMU's emulated local APIC counts its timer in nanoseconds: a 1 GHz bus whatever the host (the guest's own calibration measured 1000.0004 MHz). */
const QEMU_APIC_TIMER_HZ = 1_000_000_000;

export async function qemuKernelArgs(accel: Accel): Promise<string[]> {
  const args = ['console=ttyS0', 'reboot=t', 'panic=-1', 'quiet', 'no_timer_check', `virtio_mmio.queue_max=${VIRTIO_QUEUE_MAX}`];
  // Per-CPU memory in 4 KiB pages, not 2 MiB units: with memory-cgroup accounting each unit of per-CPU
  // memory carries a pointer per 4 bytes, so the first dynamic chunk cost the guest 4 MiB (5.7 MiB of
  // an idle guest's touched RAM, measured).
  args.push('percpu_alloc=page');
  if (accel === 'kvm') args.push('nolapic_timer');
  // Under KVM the guest reads its clock from kvm-clock; only emulation needs the host's TSC rate.
  if (accel === 'tcg') {
    args.push(`lapic_timer_hz=${QEMU_APIC_TIMER_HZ}`);
    const khz = await hostTscKhz();
    // lpj (TSC cycles per tick at the guest kernel's HZ=100) spares each secondary vCPU ~250 ms of
    // delay-loop calibration: TCG's CPU model reports no invariant TSC.
    if (khz !== null) args.push(`tsc_early_khz=${khz}`, 'tsc=reliable', `lpj=${khz * 10}`);
  }
  return args;
}

/**
 * Under TCG the guest's TSC ticks at the host's rate. The host kernel logs its calibrated rate; when that
 * line has left the log buffer, /proc/cpuinfo's figure stands in where it is the TSC's. Without either the
 * guest calibrates by itself (slower, and it hung in 2 of 8 boots here).
 */
export async function hostTscKhz(): Promise<number | null> {
  return (await tscFromKernelLog()) ?? (await tscFromCpuinfo());
}

async function tscFromKernelLog(): Promise<number | null> {
  let found: number | null = null;
  let handle;
  try {
    handle = await open('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
    const record = Buffer.alloc(8192);
    for (let i = 0; i < 100_000; i++) {
      const { bytesRead } = await handle.read(record, 0, record.length, null);
      if (bytesRead === 0) break;
      const line = record.toString('utf8', 0, bytesRead);
      const match = /tsc: (?:Refined TSC clocksource calibration: |Detected )(\d+)\.(\d{3}) MHz/.exec(line);
      if (match) found = Number(match[1]) * 1000 + Number(match[2]);
    }
  } catch {
    // EAGAIN marks the end of the buffer; EPERM means no access. Either way we have what we could read.
  } finally {
    await handle?.close();
  }
  return found;
}

/** Only trusted where the figure is the TSC's: a constant TSC and no frequency scaling. */
async function tscFromCpuinfo(): Promise<number | null> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const scaling = await access('/sys/devices/system/cpu/cpu0/cpufreq').then(() => true, () => false);
  if (scaling || !/^flags\s*:.*\bconstant_tsc\b/m.test(cpuinfo)) return null;
  const match = /^cpu MHz\s*:\s*(\d+)\.(\d{3})/m.exec(cpuinfo);
  return match ? Number(match[1]) * 1000 + Number(match[2]) : null;
}
