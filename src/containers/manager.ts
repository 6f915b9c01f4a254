/**
 * `ContainerManager` is the containers layer's door: the queries and the commands of the API, and the
 * manager's start (recovery) and shutdown. Each container has one serial queue: commands, VM exits and
 * restart timers are tasks on it, so exactly one thing changes a container at a time. A command that must
 * interrupt provisioning (stop, delete) first aborts the run in progress, which releases what it took and
 * ends its task; then the command's own task runs. Provisioning, supervision and recovery live beside it.
 *
 * States: creating (image, network) -> booting (VM) -> initializing (waiting for the process) -> running,
 * then stopped (the user asked), exited (the process ended; exit_code) or error (error_message); running
 * <-> paused (the user's pause and unpause); after a manager restart recovering, paused or unresponsive.
 * Every transition is written with an event. Execs (exec-commands.ts), waits (waits.ts) and the event
 * feed (event-feed.ts) live beside it; health checks (health.ts) follow the transitions.
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { BaseLogger } from 'pino';
import { notFound } from '../errors.ts';
import {
  ACTIVE_STATES,
  type ContainerRecord,
  type ContainerSpec,
  type ContainerState,
  type EventRecord,
  type NetworkMembership,
  type RestartPolicy,
  type VmRecord,
} from '../model/index.ts';
import type { ContainerStore } from '../store/container-store.ts';
import type { Readable } from 'node:stream';
import type { GuestProcess, PathStat } from '../sandbox/sandbox.ts';
import { ContainerContext, GLOBAL, shuttingDown, stateConflict, type ManagerSettings } from './context.ts';
import type { ContainerDeps } from './deps.ts';
import { followEvents, type EventFeedQuery } from './event-feed.ts';
import type { Attachment } from './attach.ts';
import { attachTo } from './attach-commands.ts';
import { removeWhenEnded } from './auto-remove.ts';
import { archivePath, extractArchive, statPath } from './copy-commands.ts';
import { createExec, signalExec, startExec } from './exec-commands.ts';
import type { Exec } from './execs.ts';
import type { ExecRequest } from './process-spec.ts';
import { waitFor, type WaitCondition, type WaitResult } from './waits.ts';
import type { LogEntry, LogQuery, LogStore } from './log-store.ts';
import { GuestControl } from './control-commands.ts';
import { HealthChecks } from './health.ts';
import { Provisioner } from './provisioning.ts';
import { Recovery } from './recovery.ts';
import { RunCommands } from './run-commands.ts';
import { writableLayerPath, type AbortReason } from './run.ts';
import type { ContainerStats } from './stats.ts';
import { Supervisor } from './supervision.ts';
import { checkHostPaths, checkPortConflicts, mergeSpec, type MergeRules, type SpecInput } from './validate.ts';
import { checkClaims, containerNames, namedClaims } from './volume-claims.ts';
import { NetworkCommands } from './network-commands.ts';
import { followPeerHosts } from './network-hosts.ts';
import { VolumeCommands } from './volume-commands.ts';

export type { ManagerSettings } from './context.ts';
export type { ContainerStats } from './stats.ts';

/** A new container's settings before the request's; its CPUs and memory are the configuration's. */
const SPEC_DEFAULTS: Omit<ContainerSpec, 'cpus' | 'memory_mib'> = {
  name: '',
  image: '',
  args: [],
  env_vars: {},
  volumes: [],
  port_mappings: [],
  restart_policy: 'no',
  restart_max_retries: null,
  tty: false,
  stdin_open: false,
  healthcheck: null,
  entrypoint: null,
  working_dir: null,
  user: null,
  labels: {},
  auto_remove: false,
  hostname: null,
  extra_hosts: [],
  dns: [],
  dns_search: [],
  dns_options: [],
  stop_signal: null,
  stop_timeout_s: null,
  tmpfs: [],
  cap_add: [],
  cap_drop: [],
  privileged: false,
};


export class ContainerManager {
  private readonly ctx: ContainerContext;
  private readonly provisioner: Provisioner;
  private readonly supervisor: Supervisor;
  private readonly recovery: Recovery;
  private readonly control: GuestControl;
  private readonly runCommands: RunCommands;
  private readonly health: HealthChecks;
  /** /v1/volumes (volume-commands.ts). */
  readonly volumes: VolumeCommands;
  /** Networks: names containers share to find each other (network-commands.ts). */
  readonly networks: NetworkCommands;
  private closed?: Promise<void>;
  private readonly stopAutoRemove: () => void;
  private readonly stopPeerHosts: () => void;

  constructor(store: ContainerStore, deps: ContainerDeps, logs: LogStore, settings: ManagerSettings, log: BaseLogger) {
    this.ctx = new ContainerContext(store, deps, logs, settings, log);
    this.provisioner = new Provisioner(this.ctx, (run) => this.supervisor.watch(run));
    this.supervisor = new Supervisor(this.ctx, this.provisioner);
    this.recovery = new Recovery(this.ctx, this.provisioner, this.supervisor);
    this.control = new GuestControl(this.ctx);
    this.runCommands = new RunCommands(this.ctx, this.provisioner, this.supervisor);
    this.health = new HealthChecks(this.ctx);
    this.volumes = new VolumeCommands(this.ctx, () => this.ready());
    this.networks = new NetworkCommands(this.ctx, () => this.ready());
    this.stopAutoRemove = removeWhenEnded(this.ctx, (id) => this.remove(id));
    this.stopPeerHosts = followPeerHosts(this.ctx);
  }

  // --- queries ------------------------------------------------------------------------------------------

  get(id: string): Promise<ContainerRecord> {
    return this.ctx.get(id);
  }

  list(state?: ContainerState): Promise<ContainerRecord[]> {
    return this.ctx.store.listContainers(state);
  }

  /** Whether a policy restart of this container is waiting out its backoff (Docker's `restarting`). */
  restartPending(id: string): boolean {
    return this.ctx.runs.restartPending(id);
  }

  async events(id: string): Promise<EventRecord[]> {
    await this.get(id);
    return this.ctx.store.listEvents(id);
  }

  /**
   * Every container's events that `q` picks: the backlog, then each new one as it is written, until `until`
   * passes, `signal` aborts or the manager shuts down (then `onEnd`). Resolves once the backlog is delivered.
   */
  followEvents(q: EventFeedQuery, onEvent: (e: EventRecord) => void, onEnd: () => void, signal: AbortSignal): Promise<void> {
    this.checkOpen();
    return followEvents(this.ctx.store, q, onEvent, onEnd, AbortSignal.any([signal, this.ctx.closed.signal]));
  }

  /** Calls `listener` with every event as it is written (metrics); returns how to stop. */
  onEvent(listener: (e: EventRecord) => void): () => void {
    return this.ctx.store.onEvent(listener);
  }

  /** Answers when the condition holds (waits.ts), with the exit code of the container's last run. */
  async wait(id: string, condition: WaitCondition, signal?: AbortSignal): Promise<WaitResult> {
    this.checkOpen();
    return waitFor(this.ctx, id, condition, signal);
  }

  /** The guest's processes. FailedPrecondition unless the container runs. */
  top(id: string): Promise<GuestProcess[]> {
    return this.control.top(id);
  }

  /** What the container uses now (stats.ts). FailedPrecondition unless it runs. */
  stats(id: string): Promise<ContainerStats> {
    this.checkOpen();
    return this.control.stats(id);
  }

  /** `docker cp`: a path's stat, a tar of it, a tar extracted into a directory (copy-commands.ts). */
  async statPath(id: string, path: string): Promise<PathStat> {
    this.checkOpen();
    return statPath(this.ctx, id, path);
  }

  async archive(id: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    this.checkOpen();
    return archivePath(this.ctx, id, path);
  }

  async extractArchive(id: string, path: string, tar: Readable): Promise<void> {
    this.checkOpen();
    return extractArchive(this.ctx, id, path, tar);
  }

  getExec(execId: string): Exec {
    return this.ctx.execs.get(execId);
  }

  listVms(): Promise<VmRecord[]> {
    return this.ctx.store.listVms();
  }

  /** Accepts the bare uuid or the container's `container_runtime_id` (`vm-<uuid>`). */
  async getVm(id: string): Promise<VmRecord> {
    const vm = await this.ctx.store.getVm(id.replace(/^vm-/, ''));
    if (!vm) throw notFound('HEARTH_ERR_VM_NOT_FOUND', `no VM with id ${id} (a stopped container has none)`);
    return vm;
  }

  async readLogs(id: string, q: LogQuery): Promise<LogEntry[]> {
    await this.get(id);
    return this.ctx.logs.read(id, q);
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
    const { logs } = this.ctx;
    // Synchronous from here: subscribe and read with no await between, so no line is missed or repeated.
    const live = this.ctx.runs.run(id) !== undefined;
    const unsubscribe = live ? logs.follow(id, { ...q, tail: undefined }, onEntry, onEnd) : () => {};
    return { backlog: logs.read(id, q), unsubscribe, live };
  }

  // --- commands -----------------------------------------------------------------------------------------

  /**
   * Records the container and starts provisioning it in the background. Any name not in use. With
   * `start: false` (Docker's create) it is recorded `stopped`, never started (`started_at` null), until `start`.
   * `networks`: those it joins (they must exist; none: `bridge`).
   */
  async create(input: SpecInput & { name: string; image: string; networks?: NetworkMembership[] }, opts: { start?: boolean } = {}): Promise<ContainerRecord> {
    const start = opts.start ?? true;
    await this.ready();
    const { ctx } = this;
    const { networks: asked, ...specInput } = input;
    const networks = await this.networks.check(asked ?? []);
    const defaults = { ...SPEC_DEFAULTS, cpus: ctx.settings.vcpus, memory_mib: ctx.settings.memoryMib };
    const spec = mergeSpec(defaults, specInput, this.mergeRules());
    await checkHostPaths(specInput, ctx.settings.volumes.hostRoots);
    const rec = await ctx.queue.run(GLOBAL, async () => {
      const containers = await ctx.store.listContainers();
      // Created only (Docker's create), it holds its host ports from its start on, as on Docker: one stopped
      // may keep them meanwhile (Compose creates a container's replacement before it removes it).
      checkPortConflicts(spec, null, start ? containers : containers.filter((c) => ACTIVE_STATES.has(c.state)), ctx.settings.portHostIp);
      // A volume another container's VM holds read-write is refused now rather than in the background.
      if (start) checkClaims(ctx.runs.runs(), '', namedClaims(spec), containerNames(containers));
      const now = new Date().toISOString();
      const c: ContainerRecord = {
        ...spec,
        id: randomUUID(),
        state: start ? 'creating' : 'stopped',
        desired_state: start ? 'running' : 'stopped',
        restart_count: 0,
        exit_code: null,
        oom_killed: false,
        error_message: null,
        vm_id: randomUUID(),
        container_id: randomBytes(32).toString('hex'),
        guest_ip: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        finished_at: null,
        image_stop_signal: null,
        image_digest: null,
        health: null,
        networks,
      };
      await ctx.store.insertContainer(c, start ? undefined : 'container created (not started)');
      ctx.runs.markVmSettled(c.id); // a new VM id: nothing of it can exist yet
      return c;
    });
    if (!start) return rec;
    const run = this.provisioner.newRun(rec);
    ctx.enqueue(rec.id, () => this.provisioner.provision(rec.id, run));
    return rec;
  }

  /** Changes the settings of a container that is stopped, exited or in error (FailedPrecondition otherwise). */
  async update(id: string, input: SpecInput): Promise<ContainerRecord> {
    await this.ready();
    const { ctx } = this;
    return ctx.queue.run(id, async () => {
      const cur = await this.get(id);
      const restartPending = ctx.runs.hasRestartPending(id);
      if (ACTIVE_STATES.has(cur.state) || ctx.runs.run(id) || restartPending) {
        throw stateConflict(`container ${cur.name} is ${cur.state}${restartPending ? ' (restart pending)' : ''}; stop it before changing it`);
      }
      const spec = mergeSpec(cur, input, this.mergeRules());
      await checkHostPaths(input, ctx.settings.volumes.hostRoots);
      return ctx.queue.run(GLOBAL, async () => {
        checkPortConflicts(spec, id, await ctx.store.listContainers(), ctx.settings.portHostIp);
        const { name: _name, ...patch } = spec;
        // A writable layer belongs to one image: another image starts from a clean one.
        if (patch.image !== cur.image) await rm(writableLayerPath(ctx.settings.stateDir, id), { force: true });
        const newImage = patch.image !== cur.image; // its next start resolves the new reference; the old image is no longer its
        const updated = await ctx.store.updateContainer(id, newImage ? { ...patch, image_digest: null } : patch);
        if (newImage) ctx.deps.images.release(id);
        await ctx.store.addEvent({ container_id: id, type: 'updated', from_state: null, to_state: null, message: 'settings changed' });
        return updated;
      });
    });
  }

  /**
   * Starts a stopped, exited or failed container and waits until it runs (or fails: the returned record says
   * which). A pending policy restart happens now instead. FailedPrecondition if it is already running.
   */
  async start(id: string): Promise<ContainerRecord> {
    await this.ready();
    return this.runCommands.start(id);
  }

  /**
   * Stops the process (its stop signal, SIGKILL after `graceMs`: by default the container's stop timeout,
   * else the manager's), or interrupts provisioning, or cancels a
   * pending restart; the container ends `stopped` and the restart policy leaves it so. FailedPrecondition
   * if there was nothing to stop.
   */
  async stop(id: string, graceMs?: number): Promise<ContainerRecord> {
    await this.ready();
    return this.runCommands.stop(id, graceMs);
  }

  /** Stops the container if it runs (as `stop`), then starts it (as `start`). Any state. */
  async restart(id: string, graceMs?: number): Promise<ContainerRecord> {
    await this.ready();
    return this.runCommands.restart(id, graceMs);
  }

  /** Deletes a container in any state: kills its VM (as `docker rm -f`), releases everything, drops its logs. */
  async remove(id: string): Promise<void> {
    await this.ready();
    return this.runCommands.remove(id);
  }

  /** Creates an exec in a running container (FailedPrecondition otherwise); `startExec` runs it. */
  async createExec(id: string, request: ExecRequest): Promise<Exec> {
    await this.ready();
    return createExec(this.ctx, id, request);
  }

  /** Runs a created exec; resolves once its command started or could not (exit 126/127). */
  async startExec(execId: string): Promise<Exec> {
    await this.ready();
    const exec = this.ctx.execs.get(execId);
    await startExec(this.ctx, exec);
    return exec;
  }

  /**
   * Attaches to the main process of a running container (FailedPrecondition otherwise): its output from now
   * on (and the recent output, on request), its stdin with `stdin_open`, its window size with `tty`, its exit.
   * Several clients may attach; `detach` leaves the process running. With `nextRun`, a container that does
   * not run is attached to its next run (Docker's attach before start; `bound` says when it runs).
   */
  async attach(id: string, opts: { nextRun?: boolean } = {}): Promise<Attachment> {
    await this.ready();
    return attachTo(this.ctx, id, opts);
  }

  /** A signal to an exec's command. */
  signalExec(execId: string, signo: number): void {
    signalExec(this.ctx, this.ctx.execs.get(execId), signo);
  }

  /**
   * Sends a signal to the process of a running or paused container (control-commands.ts). Not a user stop:
   * the state follows from how the process ends, and the restart policy applies.
   */
  async kill(id: string, signo: number): Promise<ContainerRecord> {
    await this.ready();
    return this.control.kill(id, signo);
  }

  /** Stops the VM's vCPUs: state `paused`, kept so across a manager restart. */
  async pause(id: string): Promise<ContainerRecord> {
    await this.ready();
    return this.control.pause(id);
  }

  /** Resumes a container the user paused (its guest clock is set again): state `running`. */
  async unpause(id: string): Promise<ContainerRecord> {
    await this.ready();
    return this.control.unpause(id);
  }

  /** Renames a container in any state (AlreadyExists if the name is taken). */
  async rename(id: string, name: string): Promise<ContainerRecord> {
    await this.ready();
    return this.control.rename(id, name);
  }

  /** The restart policy, in any state (the settings of a running container are otherwise fixed: `update`). */
  async setRestartPolicy(id: string, policy: RestartPolicy, maxRetries: number | null): Promise<ContainerRecord> {
    await this.ready();
    return this.control.setRestartPolicy(id, policy, maxRetries, this.mergeRules());
  }

  // --- start and shutdown -------------------------------------------------------------------------------

  /**
   * After a manager restart (recovery.ts): returns once the containers to recover say so; the API then
   * serves while they are recovered. Commands wait until the recovery of what they touch is queued.
   */
  recover(): Promise<void> {
    return this.recovery.begin();
  }

  /** Resolves when every container's VM is accounted for after `recover` (tests). */
  get recovered(): Promise<void> {
    return this.recovery.done;
  }

  /**
   * Shutting down, first half (Fastify's preClose, before the server waits for open requests to finish):
   * new commands are refused, pending restarts cancelled, provisioning aborted (it resumes on the next
   * start) and log follows ended, so no open request waits for something that will not come.
   */
  beginClose(): void {
    const { ctx } = this;
    if (ctx.closing) return;
    ctx.closing = true;
    ctx.closed.abort();
    this.stopAutoRemove();
    this.stopPeerHosts();
    this.health.close();
    for (const id of ctx.runs.ids()) ctx.runs.cancelTimers(id);
    for (const run of ctx.runs.runs()) if (!run.started) run.abort.abort('shutdown' satisfies AbortReason);
    ctx.logs.endAll();
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
    const { ctx } = this;
    await this.recovery.queued;
    await ctx.queue.idle();
    ctx.detaching = true;
    for (const id of ctx.runs.ids()) {
      const run = ctx.runs.run(id);
      if (run && !run.finished) await run.detach();
      ctx.logs.end(id);
    }
    ctx.runs.clear();
    ctx.execs.clear();
    ctx.logs.close();
  }

  /** Resolves when no task is queued or running (tests). */
  idle(): Promise<void> {
    return this.ctx.queue.idle();
  }

  private mergeRules(): MergeRules {
    return { defaultMaxRetries: this.ctx.settings.restart.onFailureMaxRetries, host: this.ctx.settings.host, defaultHostIp: this.ctx.settings.portHostIp };
  }

  /** Every command: refused during shutdown, and held until recovery has queued its tasks. */
  private async ready(): Promise<void> {
    this.checkOpen();
    await this.recovery.queued;
  }

  private checkOpen(): void {
    if (this.ctx.closing) throw shuttingDown('the manager is shutting down');
  }
}
