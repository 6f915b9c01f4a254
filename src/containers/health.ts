/**
 * The health checks of running containers, on timers (the rules are health-state.ts's; one check is
 * health-probe.ts's). They follow the container's state transitions as the store publishes them, so every
 * way a container comes to run or stops running is covered without each telling this module:
 * - to `running` from `initializing` (a new run): `starting` again, no failures, the log kept;
 * - to `running` from `paused`, `recovering` or `unresponsive` (the same run: unpaused, or reattached after a
 *   manager restart): the checks carry on from the stored state;
 * - to any other state: the checks stop and the status is `unhealthy`, as Docker reports it.
 * One check at a time per container: a check starts only when the command of the one before is over, even
 * one that was killed. What the checks find is written after each one; a status change is a `health-status`
 * event. A manager that shuts down leaves the state as it is; the next one carries on.
 * @module
 */
import { describeError } from '../errors.ts';
import { hostnameOf, type ContainerState, type EventRecord, type HealthState } from '../model/index.ts';
import type { ExecSpec } from '../sandbox/sandbox.ts';
import type { ContainerContext } from './context.ts';
import { runProbe } from './health-probe.ts';
import { applyResult, checksStopped, describeChange, healthPolicy, nextCheckDelay, startedRun, type HealthPolicy } from './health-state.ts';
import { buildExecSpec, containerProcessConfig } from './process-spec.ts';
import { capabilityMask } from './capabilities.ts';

interface Schedule {
  policy: HealthPolicy;
  spec: ExecSpec;
  /** When the container's run started (its `started_at`): the start period counts from it. */
  startedAt: number;
  state: HealthState;
}

interface Slot {
  /** Bumped by every start and stop: work begun under an older one is dropped. */
  generation: number;
  schedule?: Schedule;
  timer?: NodeJS.Timeout;
  abort?: AbortController;
  /** The last check's command is over (the next waits for it). */
  previous: Promise<void>;
  /** Health writes, in order. */
  writes: Promise<void>;
}

export class HealthChecks {
  private readonly slots = new Map<string, Slot>();
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: ContainerContext) {
    this.unsubscribe = ctx.store.onEvent((e) => this.onEvent(e));
    ctx.notices.on('removed', (id) => this.forget(id));
  }

  /** Shutdown: no more checks; the state stays as written, for the next manager process. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const id of [...this.slots.keys()]) this.forget(id);
  }

  private onEvent(e: EventRecord): void {
    if (e.type !== 'state' || e.container_id === null || this.closed) return;
    if (e.to_state === 'running') void this.begin(e.container_id, e.from_state === 'initializing');
    else if (e.to_state) this.halt(e.container_id, e.to_state);
  }

  private slot(id: string): Slot {
    let s = this.slots.get(id);
    if (!s) this.slots.set(id, (s = { generation: 0, previous: Promise.resolve(), writes: Promise.resolve() }));
    return s;
  }

  private async begin(id: string, newRun: boolean): Promise<void> {
    const { ctx } = this;
    const slot = this.slot(id);
    const generation = this.cancel(slot);
    try {
      await slot.writes; // what a stop just wrote is what this run starts from
      const c = await ctx.store.getContainer(id);
      const run = ctx.runs.run(id);
      if (!c || !run?.sandbox || slot.generation !== generation) return;
      const { config } = await ctx.imageOf(c, run);
      if (slot.generation !== generation) return;
      const policy = healthPolicy(config.healthcheck, c.healthcheck, config.shell);
      if (!policy) {
        if (c.health !== null) this.write(id, slot, null);
        return;
      }
      const prev = c.health;
      const state = newRun || !prev ? startedRun(prev) : prev;
      const hostname = hostnameOf(c);
      const spec = buildExecSpec(containerProcessConfig(config, c), { env: c.env_vars, hostname, capabilities: capabilityMask(c) }, { cmd: policy.argv, env: {}, tty: false, stdin: false });
      const schedule: Schedule = { policy, spec, startedAt: Date.parse(c.started_at ?? new Date().toISOString()), state };
      slot.schedule = schedule;
      if (prev?.status !== state.status || prev.failing_streak !== state.failing_streak) {
        this.write(id, slot, state, prev?.status === state.status ? undefined : describeChange(state));
      }
      this.arm(id, slot, generation, nextCheckDelay(policy, state, Date.now(), schedule.startedAt));
    } catch (e) {
      ctx.log.warn({ err: e, container: id }, `health checks not started: ${describeError(e)}`);
    }
  }

  /**
   * The container left `running`: no more checks, and `unhealthy` as Docker reports it. A container that is
   * `recovering` (or found paused or silent) after a manager restart had no checks here yet: its state stays
   * until it runs again; one whose run ended meanwhile is marked too.
   */
  private halt(id: string, to: ContainerState): void {
    const slot = this.slots.get(id);
    const schedule = slot?.schedule;
    if (slot) this.cancel(slot);
    if (schedule) {
      if (schedule.state.status !== 'unhealthy') this.write(id, slot!, checksStopped(schedule.state), stoppedBecause(to));
      return;
    }
    if (!RUN_ENDED.has(to)) return;
    const s = slot ?? this.slot(id);
    const generation = s.generation;
    s.writes = s.writes.then(async () => {
      const health = (await this.ctx.store.getContainer(id))?.health;
      if (s.generation !== generation || !health || health.status === 'unhealthy') return;
      await this.ctx.store.setHealth(id, checksStopped(health), { message: stoppedBecause(to) });
    }).catch((e: unknown) => this.ctx.log.warn({ err: e, container: id }, `could not record the health state: ${describeError(e)}`));
  }

  private forget(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    this.cancel(slot);
    this.slots.delete(id);
  }

  /** Ends whatever was scheduled or under way; returns the new generation. */
  private cancel(slot: Slot): number {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.abort?.abort();
    slot.abort = undefined;
    slot.schedule = undefined;
    return ++slot.generation;
  }

  private arm(id: string, slot: Slot, generation: number, delayMs: number): void {
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      void this.check(id, slot, generation);
    }, delayMs);
  }

  private async check(id: string, slot: Slot, generation: number): Promise<void> {
    await slot.previous;
    const schedule = slot.schedule;
    const sandbox = this.ctx.runs.run(id)?.sandbox;
    if (slot.generation !== generation || !schedule || !sandbox) return;
    const abort = new AbortController();
    slot.abort = abort;
    const probe = runProbe(sandbox, id, schedule.spec, schedule.policy.timeoutMs, abort.signal);
    slot.previous = probe.settled;
    const result = await probe.result;
    if (slot.generation !== generation) return;
    // No result: the process or VM was ending (a transition follows and stops the checks), or the guest's
    // control channel is down for now; the schedule goes on either way.
    if (result) {
      const prev = schedule.state;
      schedule.state = applyResult(prev, result, schedule.policy, schedule.startedAt);
      this.write(id, slot, schedule.state, schedule.state.status === prev.status ? undefined : describeChange(schedule.state));
      await slot.writes;
      if (slot.generation !== generation) return;
    }
    this.arm(id, slot, generation, nextCheckDelay(schedule.policy, schedule.state, Date.now(), schedule.startedAt));
  }

  /** Queued behind the container's earlier health writes, so the store ends with the latest. */
  private write(id: string, slot: Slot, state: HealthState | null, change?: string): void {
    slot.writes = slot.writes
      .then(() => this.ctx.store.setHealth(id, state, change === undefined ? undefined : { message: change }))
      .catch((e: unknown) => this.ctx.log.warn({ err: e, container: id }, `could not record the health state: ${describeError(e)}`));
  }
}

/** The states a run ends in. */
const RUN_ENDED: ReadonlySet<ContainerState> = new Set(['stopped', 'exited', 'error']);

const stoppedBecause = (to: ContainerState) => `health checks stopped: the container is ${to}`;
