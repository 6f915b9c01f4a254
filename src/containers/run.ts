/**
 * A `Run` is one attempt at running a container's process: the VM booted for it and everything taken on
 * its behalf (the image disk reference, an address and tap, port forwards, the VM's row in the store).
 * provisioning.ts calls its steps in order; each step has a timeout and stops waiting when the run is
 * aborted; `release` gives back everything taken so far, whatever step was reached, and may be called more
 * than once. A Run never changes the container's state; provisioning, supervision and recovery do.
 * @module
 */
import { join } from 'node:path';
import type { BaseLogger } from 'pino';
import { HearthError, describeError } from '../errors.ts';
import { cancelled, runStep, withTimeout } from './deadlines.ts';
import { vmSizeFor, type ProcessExit, type ProcessSpec, type Sandbox, type LaunchStep, type SandboxVolume } from '../sandbox/sandbox.ts';
import type { ContainerStore } from '../store/container-store.ts';
import type { ContainerRecord, PortMapping, VmRecord } from '../model/index.ts';
import type { ContainerDeps, NetworkAttachment, PortHandle, ResolvedImage } from './deps.ts';
import type { LogStore } from './log-store.ts';
import { pullEvents } from './pull-events.ts';
import type { EventEmitter } from 'node:events';
import { AttachPoint, type ContainerNotices } from './attach.ts';
import type { VolumeClaim } from './volume-claims.ts';

export interface RunSettings {
  vcpus: number;
  memoryMib: number;
  vmm: string;
  accel: string;
  portHostIp: string;
  timeouts: { imageMs: number; networkMs: number; bootMs: number; startMs: number };
  /** `<stateDir>/<container id>/` holds the container's logs and its writable layer. */
  stateDir: string;
  volumes: {
    /** Host directories containers may mount lie under these; none: any directory. */
    hostRoots: string[];
    /** Size of a volume made on first use, and of one created without `size_mib`. */
    defaultSizeMib: number;
  };
}

/**
 * The container's writable layer: it outlives each VM, so a stopped and started container keeps its
 * changes (as in Docker), and goes with the container's directory when the container is deleted.
 */
export function writableLayerPath(stateDir: string, containerId: string): string {
  return join(stateDir, containerId, 'writable-layer.ext4');
}

/** A run's CPUs and memory (the container's `cpus` and `memory_mib`), as the sandbox takes them. */
export interface RunResources {
  cpus: number;
  memoryMib: number;
}

/** The container's CPUs and memory; a container recorded without them has the manager's defaults. */
export function resourcesOf(c: Pick<ContainerRecord, 'cpus' | 'memory_mib'>, settings: Pick<RunSettings, 'vcpus' | 'memoryMib'>): RunResources {
  return { cpus: c.cpus ?? settings.vcpus, memoryMib: c.memory_mib ?? settings.memoryMib };
}

/** The network attachment a VM row records, if the row got that far. */
export function attachmentOf(vm: VmRecord): NetworkAttachment | undefined {
  return vm.tap && vm.guest_ip && vm.mac && vm.gateway && vm.prefix_length !== null
    ? { tap: vm.tap, mac: vm.mac, guestIp: vm.guest_ip, gateway: vm.gateway, prefixLength: vm.prefix_length }
    : undefined;
}

/** Why a run was aborted; the command that aborted it decides the container's next state. */
export type AbortReason = 'stop' | 'delete' | 'shutdown';

/** What a run works with; the containers layer's context is one. */
export interface RunContext {
  readonly deps: ContainerDeps;
  readonly store: ContainerStore;
  readonly logs: LogStore;
  readonly settings: RunSettings;
  readonly log: BaseLogger;
  readonly notices: EventEmitter<ContainerNotices>;
  /** The table of live runs (live-runs.ts), as far as a run asks of it. */
  readonly runs: { run(id: string): Run | undefined; markVmSettled(id: string): void; takeVmSettled(id: string): boolean; unsettleVm(id: string): void };
}

export class Run {
  /** A new attempt at running the container: provisioning starts from nothing. */
  static attempt(ctx: RunContext, c: Pick<ContainerRecord, 'id' | 'vm_id'>): Run {
    return new Run(ctx, c.id, c.vm_id);
  }

  /**
   * What an earlier manager process recorded for the container's VM (its row, its attachment, already
   * reserved) and, if the VM still runs, its sandbox: `release` gives all of it back.
   */
  static recorded(ctx: RunContext, c: Pick<ContainerRecord, 'id' | 'vm_id'>, attachment: NetworkAttachment | undefined, sandbox?: Sandbox): Run {
    const run = new Run(ctx, c.id, c.vm_id);
    run.vmRow = true;
    run.launchTried = true;
    run.attachment = attachment;
    if (sandbox) run.attachSandbox(sandbox);
    return run;
  }

  /** Nothing yet: only for `releaseRemains`, which gives back whatever earlier runs of the VM id left. */
  static remains(ctx: RunContext, c: Pick<ContainerRecord, 'id' | 'vm_id'>): Run {
    return new Run(ctx, c.id, c.vm_id);
  }

  readonly abort = new AbortController();
  image?: ResolvedImage;
  attachment?: NetworkAttachment;
  sandbox?: Sandbox;
  /** Where clients attach to the process's output (attach.ts); made with the sandbox. */
  attachPoint?: AttachPoint;
  private readonly ports: PortHandle[] = [];
  /** The volumes this run's VM has (or is about to have) attached, until `release` (volume-claims.ts). */
  volumes: VolumeClaim[] = [];
  private vmRow = false;
  private launchTried = false;
  /** The process is running (or ran): provisioning is over. */
  started = false;
  /** The user (or a delete) ended this run; the restart policy must not act on its exit. */
  stopRequested = false;
  /** The agent's report when the process could not start. */
  agentError?: string;
  startedAt = 0;
  /** Set once `release` has run; the exit is then accounted for. */
  finished = false;

  private readonly deps: ContainerDeps;
  private readonly store: ContainerStore;
  private readonly logs: LogStore;
  private readonly settings: RunSettings;
  private readonly log: BaseLogger;

  private constructor(
    private readonly ctx: RunContext,
    readonly containerId: string,
    readonly vmId: string,
  ) {
    ({ deps: this.deps, store: this.store, logs: this.logs, settings: this.settings, log: this.log } = ctx);
  }

  get aborted(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Step 1 (creating): the image's root filesystem, pulled if needed. Nothing to give back. `digest`: the
   * manifest digest the container's image resolved to before (its record's `image_digest`): that image,
   * not whatever `ref`'s tag names now.
   */
  async resolveImage(ref: string, digest: string | null = null): Promise<ResolvedImage> {
    this.image = await this.step('pulling the image', this.settings.timeouts.imageMs, (signal) =>
      // the image is kept for this container (user); its pull's progress goes to the container's events
      this.deps.images.ensureRootfs(ref, {
        user: this.containerId,
        ...(digest ? { digest } : {}),
        onProgress: pullEvents(this.store, this.containerId, signal, this.log),
      }),
    );
    return this.image;
  }

  /**
   * Step 2 (creating): an address and a tap, recorded in the VM's row before they exist on the host. The row
   * has the VM's size for `resources`: its vCPUs and its memory (the container's and the guest's own).
   */
  async attachNetwork(resources: RunResources): Promise<NetworkAttachment> {
    await this.releaseRemains();
    const now = new Date().toISOString();
    const size = vmSizeFor(resources);
    const row: VmRecord = {
      id: this.vmId,
      container_id: this.containerId,
      state: 'allocated',
      pid: null,
      vcpus: size.vcpus,
      memory_mib: size.memoryMib,
      vmm: this.settings.vmm,
      accel: this.settings.accel,
      guest_ip: null,
      prefix_length: null,
      gateway: null,
      tap: null,
      mac: null,
      created_at: now,
      updated_at: now,
    };
    await this.store.insertVm(row);
    this.vmRow = true;
    const a = await this.step(
      'setting up the network',
      this.settings.timeouts.networkMs,
      () => this.deps.network.attach(this.vmId),
      (late) => this.deps.network.detach(this.vmId, late),
    );
    this.attachment = a;
    await this.store.updateVm(this.vmId, {
      guest_ip: a.guestIp,
      prefix_length: a.prefixLength,
      gateway: a.gateway,
      tap: a.tap,
      mac: a.mac,
    });
    return a;
  }

  /**
   * Step 2' (creating, beside the others): the container's writable layer, if it has none yet; the launch
   * then finds it. Nothing to give back: it is the container's, kept across runs.
   */
  async prepareWritableLayer(): Promise<void> {
    await this.deps.writableLayers.ensure(writableLayerPath(this.settings.stateDir, this.containerId));
  }

  /**
   * Gives back whatever an earlier run of this VM id left and no run accounts for: its recorded VM row, tap
   * and address, and its VMM and run directory even if no record of them is left.
   */
  async releaseRemains(): Promise<void> {
    await this.releaseStaleRow();
    if (this.ctx.runs.takeVmSettled(this.containerId)) return;
    await this.safely('purging the VM', () => this.deps.sandboxes.purge(this.vmId));
  }

  /**
   * Every VM of a container has the container's VM id, so a row an earlier run could not delete (its release
   * failed) would make this run's insert fail. What that row records (its VM, if still there, its tap and
   * address) is given back first, as a recovery would.
   */
  private async releaseStaleRow(): Promise<void> {
    const stale = await this.store.getVm(this.vmId);
    if (!stale) return;
    this.log.warn({ vm: this.vmId, container: this.containerId }, 'releasing what an earlier run of this VM left behind');
    const attachment = attachmentOf(stale);
    // Reserved (its tap allowed to send again) only to be released: a failure here must not keep it.
    if (attachment) await this.safely('reserving the network', () => this.deps.network.reserve(this.vmId, attachment));
    // Its VMM, if it still runs, is ended by the purge in `release`, whatever records of it are left.
    await Run.recorded(this.ctx, { id: this.containerId, vm_id: this.vmId }, attachment).release();
  }

  /** Step 3 (booting): the VM, with the process to run, its CPUs and memory, and its volumes. Output is logged from here on. */
  async launch(process: ProcessSpec, resources: RunResources, volumes: SandboxVolume[] = [], onStep?: (step: LaunchStep) => void): Promise<Sandbox> {
    if (!this.image) throw new Error('launch before resolveImage');
    const image = this.image;
    this.launchTried = true;
    const sandbox = await this.step(
      'booting the VM',
      this.settings.timeouts.bootMs,
      () =>
        this.deps.sandboxes.launch({
          id: this.vmId,
          rootfs: { path: image.diskPath, fsType: image.fsType },
          scratchPath: writableLayerPath(this.settings.stateDir, this.containerId),
          process,
          ...(volumes.length > 0 ? { volumes } : {}),
          cpus: resources.cpus,
          memoryMib: resources.memoryMib,
          ...(this.attachment ? { network: this.attachment } : {}),
          ...(onStep ? { onStep } : {}),
        }),
      // A launch that returns after the run was released: a VM came to be after `release` vouched there was
      // none, so if it cannot be ended the next start must search for it.
      async (late) => {
        if (!(await this.killAndRelease(late))) this.ctx.runs.unsettleVm(this.containerId);
      },
    );
    this.attachSandbox(sandbox);
    await this.store.updateVm(this.vmId, {
      state: 'booting',
      pid: sandbox.info.pid,
      vmm: sandbox.info.vmm,
      accel: sandbox.info.accel,
    });
    return sandbox;
  }

  /** Makes `sandbox` this run's VM and listens to its output and agent errors. */
  attachSandbox(sandbox: Sandbox): void {
    this.sandbox = sandbox;
    this.attachPoint = new AttachPoint(sandbox);
    // Before any output can come: a client waiting to attach sees all of it.
    this.ctx.notices.emit('attach-point', this.containerId, this.attachPoint);
    sandbox.on('output', (chunk) => {
      try {
        this.logs.append(this.containerId, chunk);
      } catch (e) {
        this.log.error({ err: e, container: this.containerId }, 'could not write container output');
      }
    });
    sandbox.on('log', (line) => this.log.info({ container: this.containerId, vm: this.vmId }, `guest agent: ${line}`));
    sandbox.on('agentError', (e) => {
      this.agentError = `the process could not start: ${e.message}`;
    });
  }

  /** Step 4 (initializing): the agent reports the process started. */
  async waitStarted(): Promise<void> {
    const sandbox = this.sandbox;
    if (!sandbox) throw new Error('waitStarted before launch');
    await this.step('starting the process', this.settings.timeouts.startMs, () => {
      return new Promise<void>((resolve, reject) => {
        sandbox.once('started', () => resolve());
        sandbox.once('agentError', (e) =>
          reject(new HearthError('FailedPrecondition', 'HEARTH_ERR_PROCESS_START', `the process could not start: ${e.message}`)),
        );
        sandbox.once('failed', ({ error }) => reject(error));
        void sandbox.wait().then(
          (exit) => reject(vmEndedEarly(exit)),
          (e) => reject(vmEndedEarly(null, e)),
        );
      });
    });
    this.started = true;
    this.startedAt = Date.now();
    await this.store.updateVm(this.vmId, { state: 'running' });
  }

  /** Step 5 (before running): forward each mapped host port to the guest. */
  async openPorts(mappings: readonly PortMapping[]): Promise<void> {
    const ip = this.attachment?.guestIp;
    if (!ip) return;
    for (const m of mappings) {
      if (this.aborted) throw cancelled();
      const rule = {
        hostIp: m.host_ip ?? this.settings.portHostIp,
        hostPort: m.host_port,
        protocol: m.protocol,
        targetIp: ip,
        targetPort: m.container_port,
      };
      try {
        this.ports.push(await this.deps.network.openPort(rule));
      } catch (e) {
        throw new HearthError(
          'Unavailable',
          'HEARTH_ERR_PORT_FORWARD',
          `cannot forward host port ${m.host_ip === undefined ? '' : `${m.host_ip}:`}${m.host_port}/${m.protocol}: ${describeError(e)}`,
          { cause: e },
        );
      }
    }
  }

  /** Closes the port forwards (the process stopped, or the manager is shutting down and will reopen them). */
  async closePorts(): Promise<void> {
    for (const p of this.ports.splice(0).reverse()) {
      await this.safely('closing a port forward', () => p.close());
    }
  }

  /** Asks the process to stop (SIGKILL after `graceMs`) and waits for the VM to be gone. */
  async stop(signal: number, graceMs: number): Promise<ProcessExit | null> {
    const sandbox = this.sandbox;
    if (!sandbox) return null;
    await this.store.updateVm(this.vmId, { state: 'stopping' });
    try {
      await withTimeout(sandbox.stop({ signal, graceMs }), graceMs + 10_000, 'stopping the VM');
    } catch (e) {
      this.log.warn({ err: e, vm: this.vmId }, 'stop failed; killing the VM');
      await sandbox.kill();
    }
    return sandbox.wait();
  }

  /**
   * Gives back everything, newest first: port forwards, the VM (killed if it still runs) and its run
   * directory, the tap and address, the VM's row. Failures are logged, not thrown: the rest is still freed,
   * and what could not be is found again by the recovery sweep on the next start.
   */
  async release(): Promise<void> {
    const first = !this.finished;
    this.finished = true;
    await this.closePorts();
    const sandbox = this.sandbox;
    let vmGone = true;
    if (sandbox) {
      vmGone = await this.killAndRelease(sandbox);
    } else if (this.launchTried) {
      vmGone = await this.safely('purging the VM', () => this.deps.sandboxes.purge(this.vmId));
    }
    // Only for the container's current run (or none): a newer one's VM is not this release's to vouch for.
    if (first && vmGone && (this.ctx.runs.run(this.containerId) ?? this) === this) this.ctx.runs.markVmSettled(this.containerId);
    this.sandbox = undefined;
    const a = this.attachment;
    if (a) await this.safely('releasing the network', () => this.deps.network.detach(this.vmId, a));
    this.attachment = undefined;
    if (this.vmRow) await this.safely('deleting the VM record', () => this.store.deleteVm(this.vmId));
    this.vmRow = false;
    // The VM is gone (killed above, or never started): its volumes may be attached elsewhere.
    this.volumes = [];
  }

  /** Leaves the VM running for the next manager process (shutdown). */
  async detach(): Promise<void> {
    this.finished = true;
    await this.closePorts();
    this.sandbox?.detach();
  }

  /** Whether the VM is gone: its release (which purges its VMM and run directory) succeeded. */
  private async killAndRelease(sandbox: Sandbox): Promise<boolean> {
    if (this.volumes.some((v) => !v.readonly)) {
      // Killed through its agent, which then syncs and unmounts before the VM goes: what the process wrote to
      // a volume is kept, as a `docker rm -f` keeps what reached the host's page cache. A VMM killed outright
      // would lose what the guest had not written back. (stop kills the VMM if the guest does not go.)
      await this.safely('killing the VM', () => sandbox.stop({ signal: SIGKILL, graceMs: 0 }));
    }
    await this.safely('killing the VM', () => sandbox.kill());
    return this.safely('releasing the VM', () => sandbox.release());
  }

  /** Runs `f`, logging a failure rather than throwing it; says whether it succeeded. */
  private async safely(what: string, f: () => unknown): Promise<boolean> {
    try {
      await f();
      return true;
    } catch (e) {
      this.log.error({ err: e, vm: this.vmId, container: this.containerId }, `${what} failed: ${describeError(e)}`);
      return false;
    }
  }

  private step<T>(what: string, ms: number, start: (signal: AbortSignal) => Promise<T>, undo?: (late: T) => Promise<void>): Promise<T> {
    return runStep({ what, ms, abort: this.abort.signal, start, ...(undo ? { undo } : {}), safely: async (w, f) => void (await this.safely(w, f)) });
  }
}

const SIGKILL = 9;

function vmEndedEarly(exit: ProcessExit | null, cause?: unknown): HearthError {
  const how = exit ? `the process exited with code ${exit.code} before it was reported started` : 'the VM stopped before the process started';
  return new HearthError('Unavailable', 'HEARTH_ERR_VM_GONE', how, { cause });
}
