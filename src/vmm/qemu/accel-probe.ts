/**
 * Chooses KVM or TCG by booting a VM, not by looking at /dev/kvm: a /dev/kvm that exists can still be
 * unusable (a nested or software hypervisor that dies on some instructions, or boots far slower than
 * emulation). The probe boots the bare initramfs, whose init powers off at once, under KVM; if QEMU has
 * exited cleanly within the time limit, KVM works. The answer is kept per host boot.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runQemuToExit } from '../../tools/qemu.ts';
import type { Accel } from '../driver.ts';

/** What the bare init writes to the console (guest/bare/). */
export const BARE_INIT_MARKER = 'HEARTH_BARE_INIT';

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

export interface ProbeOptions {
  kernel: string;
  bareInitrd: string;
  baseKernelArgs: string[];
  /** A real KVM boots the probe in well under a second. */
  timeoutMs?: number;
  /** Where the answer is kept; re-probed when the host has rebooted. */
  cacheFile: string;
}

export async function chooseAccel(requested: 'auto' | Accel, options: ProbeOptions): Promise<AccelChoice> {
  if (requested !== 'auto') return { accel: requested, reason: `accel=${requested} set in the configuration` };
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  try {
    const cached = JSON.parse(await readFile(options.cacheFile, 'utf8')) as AccelChoice & { bootId: string };
    if (cached.bootId === bootId) return { accel: cached.accel, reason: `${cached.reason} (probed earlier this boot)` };
  } catch {
    // No answer kept yet.
  }
  const choice = await probeKvm(options);
  await mkdir(path.dirname(options.cacheFile), { recursive: true });
  await writeFile(options.cacheFile, JSON.stringify({ ...choice, bootId }));
  return choice;
}

export async function probeKvm(options: ProbeOptions): Promise<AccelChoice> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible' };
  }
  const timeoutMs = options.timeoutMs ?? 3_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-probe-'));
  try {
    const started = Date.now();
    const run = await runQemuToExit(
      {
        name: 'hearth-accel-probe',
        accel: 'kvm',
        vcpus: 1,
        memoryMib: 64,
        kernel: options.kernel,
        initrd: options.bareInitrd,
        append: options.baseKernelArgs.join(' '),
        consoleLog: path.join(dir, 'console.log'),
        drives: [],
        nics: [],
        serialPorts: [],
        seccomp: false,
      },
      timeoutMs,
    );
    const said = run.stderr.trim().split('\n')[0] ?? '';
    const outcome = run.timedOut
      ? `KVM did not boot the probe VM within ${timeoutMs} ms`
      : run.code === 0
        ? null
        : `QEMU under KVM ${run.signal ? `died of ${run.signal}` : `exited with ${run.code}`}${said ? `: ${said}` : ''}`;
    if (outcome !== null) return { accel: 'tcg', reason: outcome };
    const console = await readFile(path.join(dir, 'console.log'), 'utf8').catch(() => '');
    if (!console.includes(BARE_INIT_MARKER)) return { accel: 'tcg', reason: 'the probe VM under KVM ended without running its init' };
    return { accel: 'kvm', reason: `KVM booted the probe VM in ${Date.now() - started} ms` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
