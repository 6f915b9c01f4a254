/**
 * A sandbox is one microVM running one container process: the VMM, the guest agent behind the control
 * channel, and the VM's own scratch disk. It is the door the containers layer uses; it knows nothing of
 * HTTP, databases or registries.
 *
 * Lifecycle: `launch` -> (started) -> output... -> (exit) -> VMM gone -> `release`.
 * A sandbox outlives the process that launched it; `adopt` reconnects to one from what is on disk.
 */
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { PathStat } from '../agent/copy-message.ts';
import type { ExecSession, ExecSpec, GuestProcess, OutputChunk, ProcessExit, ProcessSpec } from '../agent/process.ts';
import type { GuestStats } from '../agent/stats-message.ts';
import type { VmmUsage } from '../vmm/driver.ts';

export type {
  ExecSession,
  ExecSessionEvents,
  ExecSpec,
  GuestProcess,
  OutputChunk,
  OutputStream,
  ProcessExit,
  ProcessSpec,
} from '../agent/process.ts';
export type { PathStat } from '../agent/copy-message.ts';
export type { GuestStats } from '../agent/stats-message.ts';
export type { DiskIo, VmmUsage } from '../vmm/driver.ts';
export { vmMemoryMib, vmSizeFor, type VmSize } from './vm-size.ts';
/** The guest protocol's message limit and record sizes: what a process description may take. */
export { MAX_PAYLOAD, recordListBytes } from '../agent/protocol.ts';
export { stdioRunBytes } from '../agent/run-message.ts';

export interface GuestNetwork {
  /** Host tap device the VM's NIC is backed by; it must exist. */
  tap: string;
  mac: string;
  guestIp: string;
  prefixLength: number;
  gateway: string;
}

/**
 * A volume of the container: an ext4 disk image (a named or anonymous volume) attached as a virtio-blk
 * device, or a host directory shared over virtio-fs; the agent mounts it at `target` before the process
 * starts. Read-only is enforced by the host (a read-only drive, a read-only share), not only by the guest.
 */
export type SandboxVolume =
  | {
      kind: 'disk';
      /** An ext4 disk image; writable, it becomes the VM's own while it runs. */
      path: string;
      target: string;
      readOnly: boolean;
      /** The volume's first use: the agent copies the image directory's content, owner and mode into it. */
      copyUp: boolean;
    }
  | { kind: 'host'; /** Absolute, resolved. */ path: string; target: string; readOnly: boolean }
  /** Docker's `--tmpfs`: memory of the guest's, new and empty at every start; `options` as the agent takes them. */
  | { kind: 'tmpfs'; target: string; options: string; readOnly: false };

export interface SandboxSpec {
  /** The VM id (a uuid); names the run directory. */
  id: string;
  /** Read-only image disk, shared by every sandbox of that image. */
  rootfs: { path: string; fsType: 'ext4' | 'erofs' };
  /**
   * The container's writable layer. Given, it outlives the VM (a stopped container keeps its changes,
   * as in Docker) and the caller deletes it; absent, the sandbox makes one in its run directory.
   */
  scratchPath?: string;
  process: ProcessSpec;
  /** Mounted in this order (a volume inside another comes after it). */
  volumes?: SandboxVolume[];
  /** CPUs the container may use: the VM has this many vCPUs rounded up, and a fraction is capped on the host. */
  cpus: number;
  /**
   * The container's memory, MiB: its processes' limit (their cgroup in the guest: beyond it the OOM killer
   * ends one of them, not the VM); the VM has this and what the guest takes for itself (vm-size.ts).
   */
  memoryMib: number;
  network?: GuestNetwork;
  /**
   * Told as each step of a launch ends: the scratch disk made, the VM template found or built (when templates
   * are on and the VM can resume from one), the VMM spawned (booting, or resumed), its control channel
   * connected (then `launch` resolves), and later the agent's greeting (the guest is up; the process is sent
   * at once).
   */
  onStep?: (step: LaunchStep) => void;
}

export type LaunchStep = 'scratch' | 'template' | 'vmm' | 'connect' | 'hello';

/** One reading of what a sandbox uses: inside the guest, and on the host. */
export interface SandboxStats {
  /** When it was read. */
  at: Date;
  /** The container's processes, as the guest kernel counts them in their cgroup. */
  guest: GuestStats;
  /** The VMM process and its disks, as the host sees them. */
  vmm: VmmUsage;
}

export interface SandboxEvents {
  /** The guest kernel booted and the agent answered (the process is not started yet). */
  ready: [];
  started: [{ pid: number }];
  output: [OutputChunk];
  exit: [ProcessExit];
  /** The agent reported a failure before or while starting the process (bad user, exec failed, ...). */
  agentError: [{ code: number; message: string }];
  /** The host could not send the process to the agent (a HearthError says why); the VM is being ended. */
  failed: [{ error: Error }];
  /** A diagnostic line from the guest agent (not the process's output). */
  log: [string];
  /** The VMM process is gone; `exit` came before it unless the VM died abnormally. */
  gone: [{ reason: string }];
}

export interface SandboxInfo {
  id: string;
  vmm: 'qemu' | 'firecracker';
  pid: number;
  accel: 'kvm' | 'tcg';
  vcpus: number;
  /** The VM's RAM (the container's memory and the guest's own). */
  memoryMib: number;
  guestIp: string | null;
  /** The VM template it resumed from (sandbox/vm-templates.ts), or null when it booted (absent in older records). */
  template?: string | null;
}

export interface Sandbox extends EventEmitter<SandboxEvents> {
  readonly info: SandboxInfo;
  /** Deliver `signal` to the process, SIGKILL after `graceMs`; resolves when the VMM is gone. */
  stop(options: { signal: number; graceMs: number }): Promise<void>;
  /** Send a signal to the process without waiting. */
  signal(signal: number): Promise<void>;
  /**
   * Bytes for the process's stdin (session 0), when its spec has `stdin`; dropped otherwise, and when the
   * process is not running or the channel is down (as bytes typed into a closed terminal).
   */
  writeStdin(data: Buffer): void;
  /** End of the process's stdin (it reads EOF); ignored with a tty (a terminal has none: send ^D). */
  endStdin(): void;
  /** The window size of the process's pty (with `tty`; its foreground group gets SIGWINCH). */
  resize(rows: number, cols: number): void;
  /** Runs a command beside the main process; FailedPrecondition (HEARTH_ERR_CONTAINER_STATE) unless it runs. */
  exec(spec: ExecSpec): Promise<ExecSession>;
  /**
   * `docker cp` out: a tar of `path` inside the container's root (`..` and symlinks cannot leave it), streamed.
   * NotFound (HEARTH_ERR_PATH_NOT_FOUND) for a missing path; FailedPrecondition unless the process runs.
   */
  copyOut(path: string): Promise<Readable>;
  /** `docker cp` in: extracts `tar` into the directory `dir`; InvalidArgument (HEARTH_ERR_COPY_INVALID) for a bad archive or a non-directory. */
  copyIn(dir: string, tar: Readable): Promise<void>;
  /** A path's lstat inside the container's root (what Docker's `X-Docker-Container-Path-Stat` carries). */
  stat(path: string): Promise<PathStat>;
  /** The guest's processes, as `docker top` lists them. */
  top(): Promise<GuestProcess[]>;
  /** What the container uses now, in the guest and on the host; FailedPrecondition unless the process runs. */
  stats(): Promise<SandboxStats>;
  /** Stops the VM's vCPUs (QMP `stop`): the guest uses no CPU until `resume`. */
  pause(): Promise<void>;
  /** Resumes the vCPUs (QMP `cont`) and sets the guest clock from the host's. */
  resume(): Promise<void>;
  /** End the VMM at once (the process gets no chance to clean up). Resolves when it is gone. */
  kill(): Promise<void>;
  /** Resolves when the VMM is gone, with the process's exit if the agent reported one. */
  wait(): Promise<ProcessExit | null>;
  /** Remove the run directory and scratch disk. Only after the VMM is gone. */
  release(): Promise<void>;
  /** Disconnect from the VM without stopping it (the manager is shutting down; a later process adopts it). */
  detach(): void;
}

export interface SandboxLauncher {
  /**
   * Boots the VM and sends the process; resolves once the VMM runs and the agent channel is connected. A
   * process that the guest protocol cannot carry fails before anything is made (HEARTH_ERR_RUN_TOO_LARGE).
   */
  launch(spec: SandboxSpec): Promise<Sandbox>;
  /**
   * Reconnects to a VM that is still running, from its run directory; undefined if it is gone. A paused
   * guest is refused (HEARTH_ERR_VMM_PAUSED) unless `acceptPaused`: the user paused it, and it stays paused.
   */
  adopt(id: string, options?: { acceptPaused?: boolean }): Promise<Sandbox | undefined>;
  /**
   * The exit the VM's agent reported, kept in its run directory until `purge`: a manager that was not
   * running when the process ended still learns how it ended.
   */
  exitOf(id: string): Promise<ProcessExit | null>;
  /** Ids of every VM with a run directory (running or left behind). */
  list(): Promise<string[]>;
  /** Removes what a VM that is gone left behind (run directory, scratch disk). */
  purge(id: string): Promise<void>;
}
