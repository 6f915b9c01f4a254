/**
 * Assembles the microVM launcher from configuration: the guest artifacts, the accelerator (probed by
 * booting, unless configured), the VMM jail, the QEMU driver with its kernel arguments, the
 * scratch-disk templates and the VM templates.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../errors.ts';
import type { Accel } from '../vmm/driver.ts';
import { VmCgroups, cgroupInstance } from '../vmm/jail/cgroups.ts';
import { VmmJail } from '../vmm/jail/vmm-jail.ts';
import { chooseAccel } from '../vmm/qemu/accel-probe.ts';
import type { AccelChoice } from '../vmm/qemu/accel-probe.ts';
import { QemuDriver } from '../vmm/qemu/driver.ts';
import { qemuKernelArgs } from '../vmm/qemu/kernel-args.ts';
import { locateQemu } from '../tools/qemu.ts';
import { RAMSEAL_RELATIVE_PATH } from '../tools/ramseal.ts';
import { locateGuestArtifacts } from '../sandbox/guest-artifacts.ts';
import { MicroVmLauncher } from '../sandbox/microvm-launcher.ts';
import { ScratchDisks } from '../sandbox/scratch-disk.ts';
import { VmTemplates } from '../sandbox/vm-templates.ts';

export interface LauncherSettings {
  /** Where guest/build.sh put the kernel and initramfs, and where scratch templates are kept. */
  cacheDir: string;
  /** VM run directories live in `<vmsDir>/<id>`. */
  vmsDir: string;
  vmm: 'qemu' | 'firecracker';
  accel: 'auto' | Accel;
  scratchSizeMib: number;
  /** Where the accel probe's answer is kept (per host boot). */
  probeCacheFile: string;
  /** Confine every VMM (vmm/jail/); off runs QEMU as root, unconfined. */
  jail: { enabled: boolean; uidBase: number; uidCount: number };
  /** VMs resume from templates (sandbox/vm-templates.ts, kept in `<cacheDir>/vm-templates`) instead of booting. */
  snapshots: boolean;
  /** Where the launcher says why a VM booted although snapshots are on. */
  warn?: (message: string) => void;
}

export interface CreatedLauncher {
  launcher: MicroVmLauncher;
  /** The empty ext4 disk templates, shared with the volumes' disks. */
  scratch: ScratchDisks;
  accel: AccelChoice;
  /** The VMM jail, when jailing is on: its cgroup version for the log. */
  jail: VmmJail | undefined;
}

export async function createMicroVmLauncher(settings: LauncherSettings): Promise<CreatedLauncher> {
  if (settings.vmm !== 'qemu') {
    throw new HearthError('FailedPrecondition', 'HEARTH_ERR_VMM_UNSUPPORTED', `vmm "${settings.vmm}" is not available yet: use "qemu"`);
  }
  const guest = await locateGuestArtifacts(settings.cacheDir);
  const accel = await chooseAccel(settings.accel, {
    kernel: guest.kernel,
    bareInitrd: guest.bareInitramfs,
    baseKernelArgs: await qemuKernelArgs('kvm'),
    cacheFile: settings.probeCacheFile,
  });
  const cgroups = VmCgroups.detect(cgroupInstance(settings.vmsDir));
  const jail = settings.jail.enabled
    ? await VmmJail.create({ cacheDir: settings.cacheDir, vmsDir: settings.vmsDir, accel: accel.accel, ...settings.jail }, await locateQemu(), cgroups)
    : undefined;
  const ramSeal = path.join(settings.cacheDir, RAMSEAL_RELATIVE_PATH);
  const driver = new QemuDriver({
    accel: accel.accel,
    baseKernelArgs: await qemuKernelArgs(accel.accel),
    jailUids: { base: settings.jail.uidBase, count: settings.jail.uidCount },
    ramSeal,
    ...(jail ? { jail } : {}),
    ...(cgroups ? { cgroups } : {}),
  });
  if (settings.snapshots && !(await access(ramSeal, constants.X_OK).then(() => true, () => false))) {
    throw new HearthError(
      'FailedPrecondition',
      'HEARTH_ERR_TOOL_MISSING',
      `${ramSeal} is missing (or not executable): run jailer/build.sh (or scripts/setup.sh) with HEARTH_CACHE_DIR=${settings.cacheDir}, or turn snapshots off (HEARTH_SNAPSHOTS=off)`,
    );
  }
  const scratch = new ScratchDisks(path.join(settings.cacheDir, 'scratch-templates'));
  const templates = settings.snapshots ? new VmTemplates({ dir: path.join(settings.cacheDir, 'vm-templates'), vmsDir: settings.vmsDir, driver, guest }) : undefined;
  const launcher = new MicroVmLauncher({
    vmsDir: settings.vmsDir,
    driver,
    guest,
    scratch,
    scratchSizeMib: settings.scratchSizeMib,
    ...(templates ? { templates } : {}),
    ...(settings.warn ? { warn: settings.warn } : {}),
  });
  return { launcher, scratch, accel, jail };
}
