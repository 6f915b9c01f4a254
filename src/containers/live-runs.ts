/**
 * The table of live runs: for each container the manager is looking after, the run in progress (if any)
 * and its pending timers: a policy restart, or another try at a paused or silent VM.
 * @module
 */
import type { Run } from './run.ts';

interface Slot {
  run?: Run;
  restartTimer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
  /** The last restart delay, for the doubling. */
  lastDelayMs: number;
  /** Nothing of the container's VM is left on the host: see `markVmSettled`. */
  vmSettled?: boolean;
}

export class LiveRuns {
  private readonly slots = new Map<string, Slot>();

  run(id: string): Run | undefined {
    return this.slots.get(id)?.run;
  }

  setRun(id: string, run: Run): void {
    this.slot(id).run = run;
  }

  /** Forgets `run` if it is still the container's current one. */
  clearRun(id: string, run: Run): void {
    const slot = this.slots.get(id);
    if (slot?.run === run) slot.run = undefined;
  }

  /**
   * Nothing of the container's VM (VMM, run directory, cgroup) is left on the host: its id is new, made by
   * this process, or its last run was released cleanly by this process. A start then need not search for
   * what an earlier run left (`Run.releaseRemains`: a pass or two over /proc, tens of ms). Not kept across
   * restarts: a new manager's sweep and recovery account for what the last one left, and its first start of
   * each container searches once.
   */
  markVmSettled(id: string): void {
    this.slot(id).vmSettled = true;
  }

  /** Whether the container's VM was settled; the mark is used up, since the run about to begin may leave things. */
  takeVmSettled(id: string): boolean {
    const slot = this.slots.get(id);
    const settled = slot?.vmSettled === true;
    if (slot) slot.vmSettled = false;
    return settled;
  }

  /** Something of the container's VM may be left after all: the next start searches. */
  unsettleVm(id: string): void {
    const slot = this.slots.get(id);
    if (slot) slot.vmSettled = false;
  }

  hasRestartPending(id: string): boolean {
    return this.slots.get(id)?.restartTimer !== undefined;
  }

  lastDelayMs(id: string): number {
    return this.slots.get(id)?.lastDelayMs ?? 0;
  }

  setLastDelayMs(id: string, ms: number): void {
    this.slot(id).lastDelayMs = ms;
  }

  /** Arms the policy restart; `fire` runs when it is due unless cancelled first. */
  scheduleRestart(id: string, delayMs: number, fire: () => void): void {
    const slot = this.slot(id);
    clearTimeout(slot.restartTimer);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      fire();
    }, delayMs);
  }

  /** Arms another try at a paused or silent VM; it does not keep a closing process alive. */
  scheduleRetry(id: string, delayMs: number, fire: () => void): void {
    const slot = this.slot(id);
    clearTimeout(slot.retryTimer);
    slot.retryTimer = setTimeout(() => {
      slot.retryTimer = undefined;
      fire();
    }, delayMs).unref();
  }

  /** Whether a policy restart is waiting out its backoff. */
  restartPending(id: string): boolean {
    return this.slots.get(id)?.restartTimer !== undefined;
  }

  /** Cancels a pending policy restart; says whether there was one. */
  cancelRestart(id: string): boolean {
    const slot = this.slots.get(id);
    const had = slot?.restartTimer !== undefined;
    clearTimeout(slot?.restartTimer);
    if (slot) slot.restartTimer = undefined;
    return had;
  }

  /** Cancels both timers; says whether a policy restart was pending. */
  cancelTimers(id: string): boolean {
    const slot = this.slots.get(id);
    if (!slot) return false;
    clearTimeout(slot.retryTimer);
    slot.retryTimer = undefined;
    const hadRestart = slot.restartTimer !== undefined;
    clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    return hadRestart;
  }

  delete(id: string): void {
    this.cancelTimers(id);
    this.slots.delete(id);
  }

  ids(): string[] {
    return [...this.slots.keys()];
  }

  runs(): Run[] {
    return [...this.slots.values()].flatMap((s) => (s.run ? [s.run] : []));
  }

  clear(): void {
    for (const id of this.ids()) this.delete(id);
  }

  private slot(id: string): Slot {
    let s = this.slots.get(id);
    if (!s) this.slots.set(id, (s = { lastDelayMs: 0 }));
    return s;
  }
}
