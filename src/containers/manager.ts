/**
 * `ContainerManager` owns every container's life. Each container has one serial queue: commands from HTTP,
 * VM exits and restart timers are tasks on it, so exactly one thing changes a container at a time. A
 * command that must interrupt provisioning (stop, delete) first aborts the run in progress, which releases
 * what it took and ends its task; then the command's own task runs.
 *
 * States: creating (image, network) -> booting (VM) -> initializing (waiting for the process) -> running,
 * then stopped (the user asked), exited (the process ended; exit_code) or error (error_message).
 * Every transition is written with an event in one transaction.
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { BaseLogger } from 'pino';
import { HearthError, describeError, failedPrecondition, isHearthError, notFound } from '../errors.ts';
import type { ProcessExit, Sandbox } from '../sandbox/sandbox.ts';
import type { ContainerStore, Transition } from '../store/container-store.ts';
import {
  ACTIVE_STATES,
  STARTED_STATES,
  type ContainerRecord,
  type ContainerState,
  type ContainerSpec,
  type EventRecord,
  type VmRecord,
} from '../store/records.ts';
import type { ContainerDeps } from './deps.ts';
import type { LogEntry, LogQuery, LogStore } from './log-store.ts';
import { buildProcessSpec } from '../sandbox/process-spec.ts';
import { stopSignal } from './stop-signal.ts';
import { nextDelay, shouldRestart, type BackoffSettings } from './restart-policy.ts';
import { Run, attachmentOf, isCancelled, writableLayerPath, type AbortReason, type RunSettings } from './run.ts';
import { sweepOrphans } from './orphan-sweep.ts';
import { ConcurrencyLimit, KeyedQueue } from './serial-queue.ts';
import { checkPortConflicts, mergeSpec, type SpecInput } from './validate.ts';

export interface ManagerSettings extends RunSettings {
  restart: BackoffSettings & { onFailureMaxRetries: number };
  stopGraceMs: number;
  /** How often a paused or silent VM is tried again after a manager restart. */
  recoveryRetryMs: number;
  /** Name servers written to each guest's resolv.conf. */
  dnsServers: string[];
}

/** In-memory companion of a container record: its run, pending restart and pending reattachment. */
interface Slot {
  run?: Run;
  restartTimer?: NodeJS.Timeout;
  /** A paused or silent VM is tried again when this fires (see applyAdoption). */
  retryTimer?: NodeJS.Timeout;
  /** The last restart delay, for the doubling. */
  lastDelayMs: number;
}

const SPEC_DEFAULTS: ContainerSpec = {
  name: '',
  image: '',
  args: [],
  env_vars: {},
  volumes: [],
  port_mappings: [],
  restart_policy: 'no',
  restart_max_retries: null,
};

/** A queue key no container id can take: serialises checks that span containers (names, host ports). */
const GLOBAL = '*';
/** Containers reattached at once after a restart; each waits at most a few seconds (driver and agent bounds). */
const RECOVERY_CONCURRENCY = 8;

/** What reattaching to a VM found. */
type Adoption =
  | { kind: 'adopted'; sandbox: Sandbox }
  | { kind: 'gone' }
  | { kind: 'paused' | 'unresponsive'; message: string };

export class ContainerManager {
  private readonly queue = new KeyedQueue();
  private readonly slots = new Map<string, Slot>();
  /** Shutdown has begun: no new commands, no new restarts, provisioning is aborted. */
  private closing = false;
  /** Shutdown is leaving the VMs that run to the next manager process: their ends are its to account for. */
  private detaching = false;
  private closed?: Promise<void>;
  /** Resolves once recovery has swept and queued its tasks; commands wait for it (see recover). */
  private recoveryQueued: Promise<void> = Promise.resolve();
  /** Resolves when the recovery started by `recover` has finished (tests, and shutdown waits for it). */
  recovered: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ContainerStore,
    private readonly deps: ContainerDeps,
    private readonly logs: LogStore,
    private readonly settings: ManagerSettings,
    private readonly log: BaseLogger,
  ) {}

  // --- queries ------------------------------------------------------------------------------------------

  async get(id: string): Promise<ContainerRecord> {
    const c = await this.store.getContainer(id);
    if (!c) throw containerNotFound(id);
    return c;
  }

  list(state?: ContainerState): Promise<ContainerRecord[]> {
    return this.store.listContainers(state);
  }

  async events(id: string): Promise<EventRecord[]> {
    await this.get(id);
    return this.store.listEvents(id);
  }

  listVms(): Promise<VmRecord[]> {
    return this.store.listVms();
  }

  /** Accepts the bare uuid or the container's `container_runtime_id` (`vm-<uuid>`). */
  async getVm(id: string): Promise<VmRecord> {
    const vm = await this.store.getVm(id.replace(/^vm-/, ''));
    if (!vm) throw notFound('HEARTH_ERR_VM_NOT_FOUND', `no VM with id ${id} (a stopped container has none)`);
    return vm;
  }

  async readLogs(id: string, q: LogQuery): Promise<LogEntry[]> {
    await this.get(id);
    return this.logs.read(id, q);
  }

  /**
   * The backlog, then each new entry until the container's process ends. Returns `live: false` when the
   * container has no process (the backlog is all there is).
   */
  async followLogs(
    id: string,
    q: LogQuery,
    onEntry: (e: LogEntry) => void,
    onEnd: () => void,
  ): Promise<{ backlog: LogEntry[]; unsubscribe: () => void; live: boolean }> {
    this.checkOpen();
    await this.get(id);
    // Synchronous from here: subscribe and read with no await between, so no line is missed or repeated.
    const live = this.slots.get(id)?.run !== undefined;
    const unsubscribe = live ? this.logs.follow(id, { ...q, tail: undefined }, onEntry, onEnd) : () => {};
    return { backlog: this.logs.read(id, q), unsubscribe, live };
  }

  // --- commands -----------------------------------------------------------------------------------------

  /** Records the container and starts provisioning it in the background. Any name not in use. */
  async create(input: SpecInput & { name: string; image: string }): Promise<ContainerRecord> {
    this.checkOpen();
    await this.recoveryQueued;
    const spec = mergeSpec(SPEC_DEFAULTS, input, this.settings.restart.onFailureMaxRetries);
    const rec = await this.queue.run(GLOBAL, async () => {
      checkPortConflicts(spec, null, await this.store.listContainers());
      const now = new Date().toISOString();
      const c: ContainerRecord = {
        ...spec,
        id: randomUUID(),
        state: 'creating',
        desired_state: 'running',
        restart_count: 0,
        exit_code: null,
        error_message: null,
        vm_id: randomUUID(),
        container_id: randomBytes(32).toString('hex'),
        guest_ip: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        finished_at: null,
        stop_signal: null,
      };
      await this.store.insertContainer(c);
      return c;
    });
    const run = this.newRun(rec);
    void this.queue.run(rec.id, () => this.provision(rec.id, run)).catch((e) => this.taskFailed(rec.id, e));
    return rec;
  }

  /** Changes the settings of a container that is stopped, exited or in error (FailedPrecondition otherwise). */
  async update(id: string, input: SpecInput): Promise<ContainerRecord> {
    this.checkOpen();
    await this.recoveryQueued;
    return this.queue.run(id, async () => {
      const cur = await this.get(id);
      const slot = this.slots.get(id);
      if (ACTIVE_STATES.has(cur.state) || slot?.run || slot?.restartTimer) {
        throw stateConflict(`container ${cur.name} is ${cur.state}${slot?.restartTimer ? ' (restart pending)' : ''}; stop it before changing it`);
      }
      const spec = mergeSpec(cur, input, this.settings.restart.onFailureMaxRetries);
      return this.queue.run(GLOBAL, async () => {
        checkPortConflicts(spec, id, await this.store.listContainers());
        const { name: _name, ...patch } = spec;
        // A writable layer belongs to one image: another image starts from a clean one.
        if (patch.image !== cur.image) await rm(writableLayerPath(this.settings.stateDir, id), { force: true });
        const updated = await this.store.updateContainer(id, patch);
        await this.store.addEvent({ container_id: id, type: 'updated', from_state: null, to_state: null, message: 'settings changed' });
        return updated;
      });
    });
  }

  /**
   * Starts a stopped, exited or failed container and waits until it runs (or fails: the returned record says
   * which). A pending policy restart happens now instead. FailedPrecondition if it is already running.
   */
  async start(id: string): Promise<ContainerRecord> {
    this.checkOpen();
    await this.recoveryQueued;
    this.cancelRestart(id);
    return this.queue.run(id, async () => {
      // Again here: a self-exit accounted for while this task waited may have scheduled one.
      this.cancelRestart(id);
      const cur = await this.get(id);
      if (this.slots.get(id)?.run || ACTIVE_STATES.has(cur.state)) {
        throw stateConflict(`container ${cur.name} is already ${cur.state}`);
      }
      await this.startNow(cur, 'started by user');
      return this.afterStart(id);
    });
  }

  /**
   * Stops the process (its stop signal, SIGKILL after `graceMs`), or interrupts provisioning, or cancels a
   * pending restart; the container ends `stopped` and the restart policy leaves it so. FailedPrecondition
   * if there was nothing to stop.
   */
  async stop(id: string, graceMs = this.settings.stopGraceMs): Promise<ContainerRecord> {
    this.checkOpen();
    await this.recoveryQueued;
    let hadRestart = this.cancelRestart(id);
    this.abortProvisioning(id, 'stop');
    return this.queue.run(id, async () => {
      // Again here: a self-exit accounted for while this task waited may have scheduled a restart, which
      // this stop must cancel (and count as something stopped).
      hadRestart ||= this.cancelRestart(id);
      const cur = await this.get(id);
      if (!(await this.stopNow(cur, graceMs, hadRestart))) {
        throw stateConflict(`container ${cur.name} is not running (state ${cur.state})`);
      }
      return this.get(id);
    });
  }

  /** Stops the container if it runs (as `stop`), then starts it (as `start`). Any state. */
  async restart(id: string, graceMs = this.settings.stopGraceMs): Promise<ContainerRecord> {
    this.checkOpen();
    await this.recoveryQueued;
    let hadRestart = this.cancelRestart(id);
    this.abortProvisioning(id, 'stop');
    return this.queue.run(id, async () => {
      hadRestart ||= this.cancelRestart(id); // as in stop
      const cur = await this.get(id);
      await this.stopNow(cur, graceMs, hadRestart);
      await this.startNow(await this.get(id), 'restarted by user');
      return this.afterStart(id);
    });
  }

  /** Deletes a container in any state: kills its VM (as `docker rm -f`), releases everything, drops its logs. */
  async remove(id: string): Promise<void> {
    this.checkOpen();
    await this.recoveryQueued;
    this.cancelRestart(id);
    this.abortProvisioning(id, 'delete');
    await this.queue.run(id, async () => {
      this.cancelRestart(id); // as in stop
      const c = await this.get(id);
      const run = this.slots.get(id)?.run;
      if (run) {
        run.stopRequested = true;
        await run.release();
      }
      // Whatever no run accounts for: a VM row a failed release left, or a VMM that outlived its records.
      await new Run(id, c.vm_id, this.deps, this.store, this.logs, this.settings, this.log).releaseRemains();
      this.slots.delete(id);
      await this.store.deleteContainer(id);
      this.logs.remove(id);
      this.deps.images.release(id); // its image may now be collected
    });
  }

  // --- the steps ----------------------------------------------------------------------------------------

  private newRun(c: ContainerRecord): Run {
    const run = new Run(c.id, c.vm_id, this.deps, this.store, this.logs, this.settings, this.log);
    this.slot(c.id).run = run;
    // A task that reached its turn after shutdown began: it provisions nothing now, the next manager does.
    if (this.closing) run.abort.abort('shutdown' satisfies AbortReason);
    return run;
  }

  /** Inside the queue, after startNow: the record, or Unavailable if shutdown interrupted the provisioning. */
  private async afterStart(id: string): Promise<ContainerRecord> {
    const c = await this.get(id);
    if (this.closing && ACTIVE_STATES.has(c.state) && c.state !== 'running') {
      throw shuttingDown(`the manager is shutting down; container ${c.name} resumes provisioning when it starts again`);
    }
    return c;
  }

  /** Inside the queue: clears the last run's outcome and provisions. */
  private async startNow(cur: ContainerRecord, message: string): Promise<void> {
    this.slot(cur.id).lastDelayMs = 0;
    await this.transition(cur.id, {
      to: 'creating',
      patch: { desired_state: 'running', restart_count: 0, ...CLEARED },
      message,
    });
    await this.provision(cur.id, this.newRun(cur));
  }

  /** Inside the queue: ends whatever runs or is pending. Returns false if there was nothing to stop. */
  private async stopNow(cur: ContainerRecord, graceMs: number, hadRestart: boolean): Promise<boolean> {
    const run = this.slots.get(cur.id)?.run;
    if (run?.started && !run.finished) {
      run.stopRequested = true;
      // Recorded before the VM is signalled: if the manager dies during the grace period, the next one must
      // know the user wanted this container stopped, not treat the VM's end as a crash to restart from.
      await this.store.updateContainer(cur.id, { desired_state: 'stopped' });
      const exit = await run.stop(stopSignal(run.image?.config.stopSignal ?? cur.stop_signal ?? undefined), graceMs);
      await this.finishRun(run, exit);
      return true;
    }
    if (!hadRestart && !ACTIVE_STATES.has(cur.state)) return false;
    // Provisioning was interrupted (its task released everything), or a restart was pending.
    await this.transition(cur.id, {
      to: 'stopped',
      patch: { desired_state: 'stopped', finished_at: new Date().toISOString(), guest_ip: null },
      message: hadRestart ? 'stopped by user; pending restart cancelled' : 'stopped by user during provisioning',
    });
    this.logs.end(cur.id);
    return true;
  }

  /**
   * Inside the queue: creating -> booting -> initializing -> running. On failure everything the run took is
   * released and the container goes to `error`; when aborted, the aborting command decides the state.
   */
  private async provision(id: string, run: Run): Promise<void> {
    try {
      const c = await this.store.getContainer(id);
      if (!c) throw containerNotFound(id);
      const image = await run.resolveImage(c.image);
      const attachment = await run.attachNetwork();
      await this.store.updateContainer(id, { guest_ip: attachment.guestIp, stop_signal: image.config.stopSignal || null });
      const hostname = c.container_id.slice(0, 12); // as Docker
      const process = buildProcessSpec(image.config, {
        args: c.args,
        env: c.env_vars,
        hostname,
        extraHosts: [`${attachment.guestIp}\t${hostname}`],
        resolvConf: this.settings.dnsServers.map((s) => `nameserver ${s}\n`).join(''),
      });
      await this.transition(id, { to: 'booting', message: `booting VM ${run.vmId} at ${attachment.guestIp}` });
      await run.launch(process);
      await this.transition(id, { to: 'initializing', message: 'VM booted; starting the process' });
      await run.waitStarted();
      await run.openPorts(c.port_mappings);
      await this.transition(id, { to: 'running', patch: { started_at: new Date().toISOString() }, message: 'process started' });
      this.watch(run);
    } catch (e) {
      await run.release();
      if (this.slots.get(id)?.run === run) this.slots.get(id)!.run = undefined;
      if (run.aborted || isCancelled(e)) return;
      this.log.warn({ container: id, err: e }, `provisioning failed: ${describeError(e)}`);
      await this.transition(id, {
        to: 'error',
        patch: { error_message: describeError(e), finished_at: new Date().toISOString(), guest_ip: null },
        message: describeError(e),
      });
      this.logs.end(id);
    }
  }

  /** Queues the run's end when its VM goes. */
  private watch(run: Run): void {
    const sandbox = run.sandbox!;
    void sandbox.wait().then(
      (exit) => this.queue.run(run.containerId, () => this.finishRun(run, exit)),
      (e) => {
        this.log.error({ err: e, container: run.containerId }, 'waiting for the VM failed');
        return this.queue.run(run.containerId, () => this.finishRun(run, null));
      },
    ).catch((e) => this.taskFailed(run.containerId, e));
  }

  /** Inside the queue: the VM is gone. Releases the run, records how it ended, applies the restart policy. */
  private async finishRun(run: Run, exit: ProcessExit | null): Promise<void> {
    if (run.finished || this.detaching) return;
    await run.release();
    const id = run.containerId;
    const slot = this.slots.get(id);
    if (slot?.run === run) slot.run = undefined;
    const c = await this.store.getContainer(id);
    if (!c) return;
    const code = exit?.code ?? null;
    const ended = { exit_code: code, finished_at: new Date().toISOString(), guest_ip: null };
    if (run.stopRequested) {
      await this.transition(id, {
        to: 'stopped',
        patch: { ...ended, desired_state: 'stopped' },
        message: `stopped by user${code === null ? '' : ` (exit code ${code})`}`,
      });
    } else if (run.agentError || exit === null) {
      const message = run.agentError ?? 'the VM ended without reporting an exit status';
      await this.transition(id, { to: 'error', patch: { ...ended, error_message: message }, message });
    } else {
      await this.transition(id, { to: 'exited', patch: ended, message: `process exited with code ${code}` });
    }
    this.logs.end(id);
    if (!run.stopRequested && !run.agentError && c.desired_state === 'running') {
      await this.maybeRestart(c, code, Date.now() - run.startedAt);
    }
  }

  /**
   * Schedules a policy restart if the policy asks for one. The `restart-scheduled` event is the record of
   * it: a container whose last event it is has a restart pending, which the next manager process re-arms
   * (see recoverOne). During shutdown only the event is written.
   */
  private async maybeRestart(c: ContainerRecord, exitCode: number | null, ranForMs: number): Promise<void> {
    const restart = shouldRestart({
      policy: c.restart_policy,
      maxRetries: c.restart_max_retries,
      exitCode,
      restartCount: c.restart_count,
    });
    if (!restart) return;
    const slot = this.slot(c.id);
    const delay = nextDelay(slot.lastDelayMs, ranForMs, this.settings.restart);
    slot.lastDelayMs = delay;
    const which = `restart ${c.restart_count + 1} (policy ${c.restart_policy})`;
    await this.store.addEvent({
      container_id: c.id,
      type: 'restart-scheduled',
      from_state: null,
      to_state: null,
      message: this.closing ? `${which} when the manager starts again` : `${which} in ${delay} ms`,
    });
    if (this.closing) return;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      void this.queue.run(c.id, () => this.policyRestart(c.id)).catch((e) => this.taskFailed(c.id, e));
    }, delay);
  }

  private async policyRestart(id: string): Promise<void> {
    const c = await this.store.getContainer(id);
    if (!c || c.desired_state !== 'running' || this.slots.get(id)?.run || this.closing) return;
    await this.transition(id, {
      to: 'creating',
      patch: { restart_count: c.restart_count + 1, ...CLEARED },
      message: `restarting (policy ${c.restart_policy}, restart ${c.restart_count + 1})`,
    });
    await this.provision(id, this.newRun(c));
  }

  // --- recovery and shutdown ----------------------------------------------------------------------------

  /**
   * After a manager restart. Marks every started container `recovering` (quick: the store only) and
   * returns; the rest goes on in the background while the API serves: what no record owns is removed
   * (orphan-sweep.ts), then every container is recovered at once, each as a task on its own queue (at most
   * RECOVERY_CONCURRENCY reattachments in flight, each bounded by the driver's and the agent's waits).
   * Commands wait until the sweep is done and those tasks are queued, so none overtakes the recovery of
   * its container. `recovered` resolves when every container's VM is accounted for (interrupted
   * provisioning then resumes on its queue). Call once, before serving.
   */
  async recover(): Promise<void> {
    let queued!: () => void;
    this.recoveryQueued = new Promise((resolve) => (queued = resolve));
    let containers: ContainerRecord[] = [];
    try {
      containers = await this.store.listContainers();
      for (const c of containers) {
        if (STARTED_STATES.has(c.state) && c.state !== 'recovering') {
          await this.transition(c.id, { to: 'recovering', message: 'the manager restarted; reattaching to the VM' });
        }
      }
    } catch (e) {
      queued();
      throw e;
    }
    this.recovered = this.recoverAll(containers, queued);
  }

  private async recoverAll(containers: readonly ContainerRecord[], queued: () => void): Promise<void> {
    const tasks: Promise<void>[] = [];
    try {
      await sweepOrphans(this.store, this.deps, this.logs, this.settings.stateDir, this.log);
      const limit = new ConcurrencyLimit(RECOVERY_CONCURRENCY);
      for (const c of containers) {
        const task = async () => {
          const outcome = await limit.run(() => this.recoverOne(c.id));
          // Queued behind this task rather than awaited: recovery is over once every VM is accounted for.
          if (outcome === 'provision') void this.queue.run(c.id, () => this.resumeProvisioning(c.id)).catch((e) => this.taskFailed(c.id, e));
          if (outcome === 'restart') {
            const now = await this.get(c.id);
            await this.maybeRestart(now, now.exit_code, 0);
          }
        };
        tasks.push(this.queue.run(c.id, task).catch((e) => this.taskFailed(c.id, e)));
      }
    } catch (e) {
      this.log.error({ err: e }, `recovery failed: ${describeError(e)}`);
    } finally {
      queued();
    }
    await Promise.all(tasks);
  }

  private async resumeProvisioning(id: string): Promise<void> {
    const c = await this.get(id);
    await this.transition(id, { to: 'creating', patch: CLEARED, message: 'provisioning resumed after a manager restart' });
    await this.provision(id, this.newRun(c));
  }

  /** Inside the queue: what the container's VM, if any, has become; provisioning and restarts are the caller's. */
  private async recoverOne(id: string): Promise<'provision' | 'restart' | 'done'> {
    const c = await this.store.getContainer(id);
    if (!c) return 'done';
    const vm = await this.store.getVm(c.vm_id);
    // A VM row in `stopping` is a user stop that was under way; whatever the container row says, it is done.
    const wanted = c.desired_state === 'running' && vm?.state !== 'stopping';
    if (!vm) {
      if (ACTIVE_STATES.has(c.state)) return wanted ? 'provision' : this.markStopped(c);
      return wanted && (await this.restartWasPending(c)) ? 'restart' : 'done';
    }
    const attachment = attachmentOf(vm);
    if (attachment) await this.deps.network.reserve(vm.id, attachment);
    const run = new Run(c.id, vm.id, this.deps, this.store, this.logs, this.settings, this.log);
    run.takeOver(attachment, undefined);
    // Only a VM whose process was reported started is reattached; one still booting waits for the process
    // to run, which nobody will send it, so it is ended and provisioned again.
    if (wanted && STARTED_STATES.has(c.state) && vm.state === 'running') {
      const adoption = await this.adopt(vm.id);
      if (adoption.kind !== 'gone') return this.reattach(c, run, adoption);
    }
    // The VM is gone, or it should not run: end it and give everything back.
    const exit = await this.deps.sandboxes.exitOf(vm.id);
    await run.release();
    if (!wanted) return this.markStopped(c);
    if (STARTED_STATES.has(c.state)) {
      const patch = { exit_code: exit?.code ?? null, finished_at: new Date().toISOString(), guest_ip: null };
      if (exit) {
        await this.transition(c.id, { to: 'exited', patch, message: `process exited with code ${exit.code} while the manager was not running` });
      } else {
        const message = 'the VM ended while the manager was not running';
        await this.transition(c.id, { to: 'error', patch: { ...patch, error_message: message }, message });
      }
      return 'restart';
    }
    if (ACTIVE_STATES.has(c.state)) return 'provision';
    return (await this.restartWasPending(c)) ? 'restart' : 'done';
  }

  /**
   * Inside the queue: the container's VM still runs. Reattached, it is `running` again; paused or not
   * answering, it is reported so and tried again every `recoveryRetryMs` until it answers or ends.
   */
  private async reattach(c: ContainerRecord, run: Run, adoption: Exclude<Adoption, { kind: 'gone' }>): Promise<'done'> {
    this.slot(c.id).run = run;
    run.started = true;
    run.startedAt = Date.now();
    try {
      await run.openPorts(c.port_mappings);
    } catch (e) {
      await run.release();
      this.slot(c.id).run = undefined;
      await this.transition(c.id, {
        to: 'error',
        patch: { error_message: describeError(e), finished_at: new Date().toISOString(), guest_ip: null },
        message: describeError(e),
      });
      return 'done';
    }
    await this.applyAdoption(c.id, run, adoption);
    return 'done';
  }

  private async applyAdoption(id: string, run: Run, adoption: Exclude<Adoption, { kind: 'gone' }>): Promise<void> {
    const current = (await this.get(id)).state;
    if (adoption.kind === 'adopted') {
      run.attachSandbox(adoption.sandbox);
      const message = current === 'recovering' ? 'reattached to the running VM after a manager restart' : 'the VM answers again';
      await this.transition(id, { to: 'running', message });
      this.watch(run);
      return;
    }
    if (current !== adoption.kind) {
      this.log.warn({ container: id }, adoption.message);
      await this.transition(id, { to: adoption.kind, message: `${adoption.message}; retrying every ${this.settings.recoveryRetryMs / 1000} s` });
    }
    const slot = this.slot(id);
    slot.retryTimer = setTimeout(() => {
      slot.retryTimer = undefined;
      void this.queue.run(id, () => this.retryAdoption(id, run)).catch((e) => this.taskFailed(id, e));
    }, this.settings.recoveryRetryMs);
  }

  /** Inside the queue: one more try at a paused or silent VM, unless something else ended the run meanwhile. */
  private async retryAdoption(id: string, run: Run): Promise<void> {
    if (this.slots.get(id)?.run !== run || run.finished || this.closing) return;
    const adoption = await this.adopt(run.vmId);
    if (adoption.kind === 'gone') {
      await this.finishRun(run, await this.deps.sandboxes.exitOf(run.vmId));
      return;
    }
    await this.applyAdoption(id, run, adoption);
  }

  /** Reconnects to a VM, saying what it found instead of throwing. */
  private async adopt(vmId: string): Promise<Adoption> {
    try {
      const sandbox = await this.deps.sandboxes.adopt(vmId);
      return sandbox ? { kind: 'adopted', sandbox } : { kind: 'gone' };
    } catch (e) {
      const paused = isHearthError(e, 'HEARTH_ERR_VMM_PAUSED');
      return { kind: paused ? 'paused' : 'unresponsive', message: describeError(e) };
    }
  }

  /** The container ended by itself and the policy scheduled a restart that has not happened yet. */
  private async restartWasPending(c: ContainerRecord): Promise<boolean> {
    if (c.state !== 'exited' && c.state !== 'error') return false;
    return (await this.store.listEvents(c.id)).at(-1)?.type === 'restart-scheduled';
  }

  private async markStopped(c: ContainerRecord): Promise<'done'> {
    if (c.state !== 'stopped') {
      await this.transition(c.id, {
        to: 'stopped',
        patch: { desired_state: 'stopped', finished_at: new Date().toISOString(), guest_ip: null },
        message: 'stopped (found after a manager restart)',
      });
    }
    return 'done';
  }

  /**
   * Shutting down, first half (Fastify's preClose, before the server waits for open requests to finish):
   * new commands are refused, pending restarts cancelled, provisioning aborted (it resumes on the next
   * start) and log follows ended, so no open request waits for something that will not come.
   */
  beginClose(): void {
    if (this.closing) return;
    this.closing = true;
    for (const slot of this.slots.values()) {
      clearTimeout(slot.restartTimer);
      clearTimeout(slot.retryTimer);
      slot.restartTimer = slot.retryTimer = undefined;
      if (slot.run && !slot.run.started) slot.run.abort.abort('shutdown' satisfies AbortReason);
    }
    this.logs.endAll();
  }

  /**
   * Shutting down, second half (after the server closed): waits for the tasks under way, then leaves
   * running VMs running for the next manager process to adopt.
   */
  close(): Promise<void> {
    this.beginClose();
    return (this.closed ??= this.leaveVms());
  }

  private async leaveVms(): Promise<void> {
    await this.recoveryQueued;
    await this.queue.idle();
    this.detaching = true;
    for (const [id, slot] of this.slots) {
      if (slot.run && !slot.run.finished) await slot.run.detach();
      this.logs.end(id);
    }
    this.slots.clear();
    this.logs.close();
  }

  /** Resolves when no task is queued or running (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // --- helpers ------------------------------------------------------------------------------------------

  private slot(id: string): Slot {
    let s = this.slots.get(id);
    if (!s) this.slots.set(id, (s = { lastDelayMs: 0 }));
    return s;
  }

  private cancelRestart(id: string): boolean {
    const slot = this.slots.get(id);
    clearTimeout(slot?.retryTimer);
    if (slot) slot.retryTimer = undefined;
    if (!slot?.restartTimer) return false;
    clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    return true;
  }

  private abortProvisioning(id: string, reason: AbortReason): void {
    const run = this.slots.get(id)?.run;
    if (run && !run.started) run.abort.abort(reason);
  }

  private transition(id: string, t: Transition): Promise<ContainerRecord> {
    return this.store.transition(id, t);
  }

  private checkOpen(): void {
    if (this.closing) throw shuttingDown('the manager is shutting down');
  }

  private taskFailed(id: string, e: unknown): void {
    this.log.error({ err: e, container: id }, `container task failed: ${describeError(e)}`);
  }
}

const CLEARED = { exit_code: null, error_message: null, started_at: null, finished_at: null, guest_ip: null } as const;

function containerNotFound(id: string): HearthError {
  return notFound('HEARTH_ERR_CONTAINER_NOT_FOUND', `no container with id ${id}`);
}

function shuttingDown(message: string): HearthError {
  return new HearthError('Unavailable', 'HEARTH_ERR_SHUTTING_DOWN', message);
}

function stateConflict(message: string): HearthError {
  return failedPrecondition('HEARTH_ERR_CONTAINER_STATE', message);
}
