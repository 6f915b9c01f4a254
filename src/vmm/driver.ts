/**
 * The VMM driver interface: what the sandbox layer needs from a virtual machine monitor, shaped like
 * Firecracker's API (a VM is fully described, then started; devices carry ids; NICs are host taps;
 * one control channel to the guest agent). QEMU's microvm machine implements it in ./qemu/.
 *
 * A driver keeps everything about a VM in the run directory it is given, so that a later process can
 * adopt the VM from what is on disk. VMM processes never depend on the process that started them.
 */
import type { Duplex } from 'node:stream';

export type Accel = 'kvm' | 'tcg';

export interface DriveConfig {
  /** Device id, unique within the VM. */
  id: string;
  path: string;
  readOnly: boolean;
  /** The guest finds disks by this serial (/sys/block/vd* /serial), never by order. */
  serial: string;
}

/**
 * A host directory shared into the guest, which mounts it by its id (Firecracker has no such device: a
 * Firecracker driver refuses VMs with shares).
 */
export interface ShareConfig {
  /** Device id and the guest's mount tag, unique within the VM. */
  id: string;
  /** Absolute, with no symlinks in it (the caller resolved it). */
  path: string;
  /** Enforced on the host: no write from the guest reaches the directory, whatever the guest mounts. */
  readOnly: boolean;
}

export interface NicConfig {
  id: string;
  /** An existing host tap device; absent, a NIC wired to nothing (a template's: see VmConfig.restoreFrom). */
  tap?: string;
  mac: string;
}

export interface VmConfig {
  id: string;
  /** Owned by the driver while the VM lives: sockets, pid, logs. Must exist. */
  runDir: string;
  vcpus: number;
  /**
   * Host CPU time the VM may use, in cores, when it is a fraction below `vcpus` (a container's `cpus: 0.5`
   * on one vCPU); capped where the host has cgroups. Absent: the vCPUs and the VMM's own threads run free.
   */
  cpus?: number;
  memoryMib: number;
  kernelPath: string;
  initrdPath: string;
  /** Kernel arguments of the caller; the driver adds its own (console, reboot, clock). */
  kernelArgs: string[];
  drives: DriveConfig[];
  nics: NicConfig[];
  shares?: ShareConfig[];
  /**
   * Guest RAM mapped shared from this file (made, or sized, to the VM's memory): a VM to be saved
   * (`saveState`), whose clones map the same RAM copy-on-write. The file must not be on a filesystem the
   * VM's disks fill (it is written as the guest runs). Not with `shares` (their VMs' RAM is a memfd the
   * directories' servers map).
   */
  memoryFile?: string;
  /**
   * A VM saved by `saveState`, configured the same way (only its drives' files, its taps and its run directory
   * may differ; a drive's size must not): this VM resumes from there instead of booting, its RAM a private
   * copy-on-write mapping of the saved RAM. Starting fails with HEARTH_ERR_VMM_RESTORE when it cannot resume.
   */
  restoreFrom?: SavedVm;
}

/** A saved VM: its devices' state (written by `saveState`) and its RAM (its `memoryFile`, no longer written). */
export interface SavedVm {
  state: string;
  memory: string;
}

/** One disk's I/O as the VMM counted it since the VM started. */
export interface DiskIo {
  /** The drive's id (DriveConfig.id). */
  id: string;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
  flushOps: number;
}

/** What a VM costs the host: its VMM process's CPU time and memory, and its disks' I/O. */
export interface VmmUsage {
  /** CPU time of the VMM (every thread: the vCPUs, I/O, the main loop), in user mode and in the kernel, ns. */
  cpuUserNs: number;
  cpuSystemNs: number;
  /**
   * The VMM's memory (/proc/<pid>/smaps_rollup): resident counts pages it shares with other VMMs (QEMU's
   * binary, the guest kernel's file) in full; private is only its own, what ending it would give back.
   */
  residentBytes: number;
  privateBytes: number;
  disks: DiskIo[];
}

export interface VmProcess {
  readonly id: string;
  readonly pid: number;
  readonly accel: Accel;
  /** Opens the byte stream to the guest agent. Only one at a time. */
  connectControl(): Promise<Duplex>;
  /** Resolves when the VMM process is gone. */
  readonly exited: Promise<{ reason: string }>;
  /** Ends the VMM now: a polite quit, then SIGKILL. Resolves when it is gone. */
  terminate(): Promise<void>;
  /** Lets go of the VMM without stopping it. */
  detach(): void;
  /** Stops the vCPUs (the guest uses no CPU and its clock stands still); resolves once they are stopped. */
  pause(): Promise<void>;
  /** Whether its vCPUs are stopped (by `pause`, or found so when adopted). */
  readonly paused: boolean;
  /** Runs the vCPUs again. The guest's clock is behind by the pause: the caller sets it. */
  resume(): Promise<void>;
  /**
   * Resolves once the guest has opened its end of the control channel (its agent waits for a host), learnt
   * without connecting: a VM to be saved must not have seen a host come and go, or its clones would resume
   * with that departure still to handle. Only for a VM this process started.
   */
  controlOpened(): Promise<void>;
  /**
   * Stops the vCPUs and writes the state of the VM's devices to `file`; with its RAM in its `memoryFile`, the
   * pair is a `SavedVm` for `VmConfig.restoreFrom`. The VM stays stopped. HEARTH_ERR_VMM_SAVE when it cannot
   * (a VM started without a `memoryFile` cannot be saved).
   */
  saveState(file: string): Promise<void>;
  /**
   * What the VM costs the host now. HEARTH_ERR_VMM_GONE when its process ended meanwhile,
   * HEARTH_ERR_VMM_UNRESPONSIVE when it does not answer for its disks.
   */
  usage(): Promise<VmmUsage>;
}

/** A VM the driver has something of on the host: its VMM process, or (pid null) only host state such as a cgroup. */
export interface VmmFound {
  runDir: string;
  pid: number | null;
}

export interface VmmDriver {
  readonly name: 'qemu' | 'firecracker';
  /**
   * What a saved state (VmProcess.saveState) depends on besides the VmConfig and the guest's files: the VMM's
   * binary, the accelerator, the driver's own kernel arguments. A state saved under other inputs must not be
   * restored.
   */
  stateInputs(): Promise<string>;
  /** Configures and starts a VM; resolves once the VMM accepts control connections. */
  start(config: VmConfig): Promise<VmProcess>;
  /**
   * Reconnects to a VM started by an earlier process; undefined if its VMM is gone. Throws if the VMM
   * runs but cannot be controlled: HEARTH_ERR_VMM_PAUSED when its guest is paused or the process stopped,
   * HEARTH_ERR_VMM_UNRESPONSIVE when it does not answer (the caller may retry later, or `destroy` it). With
   * `acceptPaused`, a guest paused through the VMM (a user's pause) is adopted as it is, still paused.
   */
  adopt(runDir: string, options?: { acceptPaused?: boolean }): Promise<VmProcess | undefined>;
  /**
   * Ends the VM's VMM if it still runs, without needing a connection to it or a record of it, and gives
   * back what the driver took on the host for it (cgroups). The run directory itself is the caller's.
   */
  destroy(runDir: string): Promise<void>;
  /**
   * Every VM under `vmsDir` this driver has something of on the host (a VMM, a cgroup), whether or not its
   * run directory still exists.
   */
  findAll(vmsDir: string): Promise<VmmFound[]>;
  /** Lets go of what the driver keeps to resume VMs from `saved` (a sealed copy of its RAM): it is to be removed. */
  forgetSaved(saved: SavedVm): void;
}
