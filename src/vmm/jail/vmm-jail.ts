/**
 * The confinement of each VMM, with Firecracker's jailer as the model. A jailed VMM:
 *   - runs as a uid and gid of its own, chosen per VM from a range no account uses, so a VMM taken over
 *     by its guest cannot signal, trace or read the memory of its neighbours (one shared user could);
 *   - has no capabilities, no_new_privs, and QEMU's seccomp sandbox (see tools/qemu.ts);
 *   - sees a root that holds only what it runs from (QEMU, its libraries and ROMs, read-only) and its VM's
 *     kernel, initrd, disks and sockets, in a mount namespace of its own; resuming from a template, also a
 *     /proc that shows it only its own processes, through which it maps the template's sealed RAM;
 *   - gets its tap as an open file descriptor and lives in an empty network namespace, so it can reach no
 *     network but its guest's;
 *   - is capped in CPU, memory and pids by a cgroup of its own (./cgroups.ts), and in the size of any file
 *     it writes (its disks are fixed-size, its console log must not fill the host's disk);
 *   - has mount, IPC, UTS and cgroup namespaces of its own.
 * Disks are bind-mounted rather than handed over as descriptors: QEMU reopens a drive with other flags
 * during start-up, which a single descriptor cannot serve, and a file owned by the VM's uid gives the VMM
 * no more than the descriptor would.
 */
import { createHash } from 'node:crypto';
import { access, chmod, chown, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../../errors.ts';
import { JAILER_RELATIVE_PATH, type JailBind, type JailSpec } from '../../tools/jailer.ts';
import { sharedObjects } from '../../tools/ldd.ts';
import type { Accel } from '../driver.ts';
import { uidsInUse } from '../process.ts';
import type { VmCgroups, VmLimits } from './cgroups.ts';

export interface JailSettings {
  /** Where jailer/build.sh installed hearth-jailer (`<cacheDir>/jailer/`). */
  cacheDir: string;
  /** The manager's VM directory: names this manager's cgroups apart from other managers'. */
  vmsDir: string;
  /** VMM uids (and gids) are taken from [uidBase, uidBase + uidCount). */
  uidBase: number;
  uidCount: number;
  accel: Accel;
}

/** One VM as the jail needs to know it. Paths are host paths. */
export interface JailedVm {
  id: string;
  /** The VM's run directory; its `vmm/` part (sockets, console) is what the VMM may write besides its disks. */
  runDir: string;
  vcpus: number;
  /** A fraction of a CPU below `vcpus` the VM may use (VmConfig.cpus); absent: its vCPUs in full. */
  cpus?: number;
  memoryMib: number;
  kernel: string;
  initrd: string;
  drives: Array<{ id: string; path: string; readOnly: boolean }>;
  taps: string[];
  /** Guest RAM the VMM maps shared (VmConfig.memoryFile): the VM's own while it runs, like a writable disk. */
  memoryFile?: string;
  /**
   * A saved VM it resumes from (VmConfig.restoreFrom), both handed over open: its state, and a sealed copy of
   * its RAM (vmm/ram-seals.ts), which the VMM opens again as /proc/self/fd/<n> to map it.
   */
  restoreFrom?: { state: string; memory: string };
}

/** A prepared jail: the jailer's spec, and where the VM's files are inside it. */
export interface PreparedJail {
  spec: JailSpec;
  jailer: string;
  kernel: string;
  initrd: string;
  drivePath(id: string): string;
  /** The directory for sockets and the console, inside the jail. */
  vmmDir: string;
  tapFd(tap: string): number;
  /** The fd the saved state (JailedVm.restoreFrom) is open at. */
  stateFd?: number;
  /** Guest RAM's file as QEMU opens it (JailedVm.memoryFile, or the saved RAM's copy). */
  memoryPath?: string;
}

/** QEMU's own memory beside guest RAM (TCG's translation cache is bounded at 128 MiB; see tools/qemu.ts). */
const VMM_OVERHEAD_MIB = 384;
/** CPU beside the vCPUs for QEMU's own threads (its main loop, I/O), unless a fraction of a CPU was asked for. */
const VMM_CPU_HEADROOM = 0.5;
/** QEMU's threads: one per vCPU, the main loop, RCU, a pool of up to 64 I/O workers, and some slack. */
const VMM_PIDS_BASE = 96;
/** The console log of a VM without a writable disk may still grow this much. */
const MIN_FILE_LIMIT_BYTES = 64 * 2 ** 20;
const FIRST_TAP_FD = 3;
const UID_SCAN_MS = 2_000;

export class VmmJail {
  /** uids handed out by this process, until their VM is released. */
  private readonly reserved = new Map<string, number>();
  private uidScan: { at: number; uids: Promise<Set<number>> } | undefined;

  private constructor(
    private readonly settings: JailSettings,
    private readonly jailer: string,
    private readonly qemu: string,
    private readonly runtime: JailBind[],
    readonly cgroups: VmCgroups | undefined,
  ) {}

  /** Finds the jailer and what QEMU loads; FailedPrecondition when the jailer was not built. */
  static async create(settings: JailSettings, qemuBinary: string, cgroups: VmCgroups | undefined): Promise<VmmJail> {
    const jailer = path.join(settings.cacheDir, JAILER_RELATIVE_PATH);
    try {
      await access(jailer);
    } catch {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_JAILER_MISSING',
        `${jailer} is missing: run jailer/build.sh (or scripts/setup.sh) with HEARTH_CACHE_DIR=${settings.cacheDir}, or turn jailing off (HEARTH_JAIL=off)`,
      );
    }
    const runtime: JailBind[] = [qemuBinary, ...(await sharedObjects(qemuBinary))].map((p) => ({ source: p, target: p, readOnly: true }));
    // QEMU loads accelerator modules and firmware relative to its binary: <prefix>/lib/<arch>/qemu, <prefix>/share/qemu.
    const prefix = path.dirname(path.dirname(qemuBinary));
    for (const dir of [path.join(prefix, 'lib', 'x86_64-linux-gnu', 'qemu'), path.join(prefix, 'lib', 'qemu'), path.join(prefix, 'share', 'qemu')]) {
      if (await exists(dir)) runtime.push({ source: dir, target: dir, readOnly: true });
    }
    return new VmmJail(settings, jailer, qemuBinary, runtime, cgroups);
  }

  get qemuPath(): string {
    return this.qemu;
  }

  async prepare(vm: JailedVm): Promise<PreparedJail> {
    const vmmDir = path.join(vm.runDir, 'vmm');
    const root = path.join(vm.runDir, 'root');
    // Independent steps at once: making cgroups and reading /proc each take milliseconds, on every boot.
    const [uid, cgroups] = await Promise.all([
      this.pickUid(vm.id, vm.runDir),
      this.cgroups ? this.cgroups.create(vm.id, limitsFor(vm)) : Promise.resolve([]),
      mkdir(vmmDir, { recursive: true, mode: 0o700 }),
      mkdir(root, { recursive: true, mode: 0o755 }),
    ]);
    await chown(vmmDir, uid, uid);
    let largestDisk = 0;
    const binds: JailBind[] = [
      ...this.runtime,
      { source: vm.kernel, target: '/boot/vmlinux', readOnly: true },
      { source: vm.initrd, target: '/boot/initrd', readOnly: true },
      { source: vmmDir, target: '/vm', readOnly: false },
    ];
    for (const d of vm.drives) {
      // A writable disk (the writable layer, a volume) is the VM's own; a read-only one (an image disk, a
      // volume mounted read-only by several VMs at once) is shared and must be readable by all their VMMs:
      // a volume last written by a VM of another uid is handed back to root, readable by all.
      if (!d.readOnly) {
        await chown(d.path, uid, uid);
        await chmod(d.path, 0o600);
        largestDisk = Math.max(largestDisk, (await stat(d.path)).size);
      } else if (((await stat(d.path)).mode & 0o004) === 0) {
        await chown(d.path, 0, 0);
        await chmod(d.path, 0o644);
      }
      binds.push({ source: d.path, target: `/disks/${d.id}`, readOnly: d.readOnly });
    }
    if (vm.memoryFile !== undefined) {
      await chown(vm.memoryFile, uid, uid);
      await chmod(vm.memoryFile, 0o600);
      largestDisk = Math.max(largestDisk, (await stat(vm.memoryFile)).size);
      binds.push({ source: vm.memoryFile, target: '/ram', readOnly: false });
    }
    const taps = vm.taps.map((name, i) => ({ name, fd: FIRST_TAP_FD + i }));
    // Shared by every VM of its template: read through descriptors, never bound into the jail.
    const restore = vm.restoreFrom;
    const reads = restore
      ? [
          { path: restore.state, fd: FIRST_TAP_FD + taps.length },
          { path: restore.memory, fd: FIRST_TAP_FD + taps.length + 1, sealed: true },
        ]
      : [];
    const spec: JailSpec = {
      root,
      uid,
      gid: uid,
      cgroups,
      taps,
      reads,
      emptyNetns: true,
      procSelf: restore !== undefined,
      // Its writable disks are fixed-size files: nothing it writes needs to grow beyond the largest.
      maxFileBytes: Math.max(largestDisk, MIN_FILE_LIMIT_BYTES),
      binds,
      devices: this.settings.accel === 'kvm' ? ['/dev/kvm'] : [],
      env: {},
    };
    return {
      spec,
      jailer: this.jailer,
      kernel: '/boot/vmlinux',
      initrd: '/boot/initrd',
      drivePath: (id) => `/disks/${id}`,
      vmmDir: '/vm',
      tapFd: (tap) => taps.find((t) => t.name === tap)!.fd,
      ...(reads[0] && reads[1] ? { stateFd: reads[0].fd, memoryPath: `/proc/self/fd/${reads[1].fd}` } : {}),
      ...(vm.memoryFile !== undefined ? { memoryPath: '/ram' } : {}),
    };
  }

  /** The VM's uid may go to another VM once its VMM is gone (its cgroup is the driver's to remove). */
  release(vmId: string): void {
    this.reserved.delete(vmId);
  }

  /**
   * The uids of every process, read at most every UID_SCAN_MS (a scan of /proc costs several ms, and this
   * process's own VMs are in `reserved` anyway): a uid another manager's VMM took since the last scan could
   * be given again only if that manager probed from the same point, which the run directory makes unlikely.
   */
  private uidsInUse(): Promise<Set<number>> {
    if (!this.uidScan || performance.now() - this.uidScan.at > UID_SCAN_MS) {
      this.uidScan = { at: performance.now(), uids: uidsInUse() };
      this.uidScan.uids.catch(() => (this.uidScan = undefined));
    }
    return this.uidScan.uids;
  }

  /**
   * A uid no process has and no VM of this process is about to take: probing starts at a point drawn from
   * the run directory, so managers sharing a host rarely probe the same uids.
   */
  private async pickUid(vmId: string, runDir: string): Promise<number> {
    const { uidBase, uidCount } = this.settings;
    const taken = new Set(await this.uidsInUse());
    for (const uid of this.reserved.values()) taken.add(uid);
    const start = createHash('sha256').update(runDir).digest().readUInt32BE(0) % uidCount;
    for (let i = 0; i < uidCount; i++) {
      const uid = uidBase + ((start + i) % uidCount);
      if (!taken.has(uid)) {
        this.reserved.set(vmId, uid);
        return uid;
      }
    }
    throw new HearthError('Unavailable', 'HEARTH_ERR_JAIL_UIDS', `every VMM uid in ${uidBase}-${uidBase + uidCount - 1} is in use; widen the range (HEARTH_JAIL_UID_COUNT)`);
  }
}

/**
 * The VMM's cgroup limits. CPU: whole vCPUs run free, with half a core more for QEMU's own threads; a
 * fraction (`cpus: 0.5`) caps the whole VMM at that fraction, as Docker's `--cpus` caps every process of a
 * container (a VM's device emulation is its container's work too).
 */
export function limitsFor(vm: Pick<JailedVm, 'vcpus' | 'cpus' | 'memoryMib'>): VmLimits {
  const cpus = vm.cpus !== undefined && vm.cpus < vm.vcpus ? vm.cpus : vm.vcpus + VMM_CPU_HEADROOM;
  return { memoryBytes: (vm.memoryMib + VMM_OVERHEAD_MIB) * 1024 * 1024, pids: VMM_PIDS_BASE + 2 * vm.vcpus, cpus };
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}
