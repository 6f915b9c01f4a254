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
  /** An existing host tap device. */
  tap: string;
  mac: string;
}

export interface VmConfig {
  id: string;
  /** Owned by the driver while the VM lives: sockets, pid, logs. Must exist. */
  runDir: string;
  vcpus: number;
  memoryMib: number;
  kernelPath: string;
  initrdPath: string;
  /** Kernel arguments of the caller; the driver adds its own (console, reboot, clock). */
  kernelArgs: string[];
  drives: DriveConfig[];
  nics: NicConfig[];
  shares?: ShareConfig[];
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
}

/** A VM the driver has something of on the host: its VMM process, or (pid null) only host state such as a cgroup. */
export interface VmmFound {
  runDir: string;
  pid: number | null;
}

export interface VmmDriver {
  readonly name: 'qemu' | 'firecracker';
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
}
