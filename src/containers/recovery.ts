/**
 * Recovery after a manager restart: every container's VM is accounted for while the API already serves.
 * A VM whose process runs is reattached; one that ended is recorded (exit or error, then the restart
 * policy); one still booting is ended and provisioned again; a paused or silent one is reported `paused`
 * or `unresponsive` and tried again until it answers. A VM the user paused (its row says `paused`) is
 * reattached paused and stays `paused` until unpaused: that is not a fault to retry. What no record owns
 * is removed first.
 * @module
 */
import { describeError, isHearthError } from '../errors.ts';
import { ACTIVE_STATES, STARTED_STATES, type ContainerRecord } from '../model/index.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { CLEARED, ended, type ContainerContext } from './context.ts';
import { sweepOrphans } from './orphan-sweep.ts';
import type { Provisioner } from './provisioning.ts';
import { attachmentOf, Run } from './run.ts';
import { ConcurrencyLimit } from './serial-queue.ts';
import { namedClaims } from './volume-claims.ts';
import type { Supervisor } from './supervision.ts';

/** Containers reattached at once; each waits at most a few seconds (driver and agent bounds). */
const RECOVERY_CONCURRENCY = 8;

/** What reattaching to a VM found. */
type Adoption =
  | { kind: 'adopted'; sandbox: Sandbox }
  | { kind: 'gone' }
  | { kind: 'paused' | 'unresponsive'; message: string };

type Outcome = 'provision' | 'restart' | 'done';

export class Recovery {
  /** Resolves once the sweep is done and every container's recovery is queued: commands wait for it. */
  queued: Promise<void> = Promise.resolve();
  /** Resolves when every container's VM is accounted for (interrupted provisioning then resumes on its queue). */
  done: Promise<void> = Promise.resolve();
  /** VMs whose recorded network was taken back at the start of recovery. */
  private readonly reserved = new Set<string>();

  constructor(
    private readonly ctx: ContainerContext,
    private readonly provisioner: Provisioner,
    private readonly supervisor: Supervisor,
  ) {}

  /**
   * Marks every started container `recovering` (quick: the store only) and returns; the rest goes on in the
   * background: the orphan sweep, then every container's recovery at once, each as a task on its own queue
   * (at most RECOVERY_CONCURRENCY reattachments in flight). Call once, before serving.
   */
  async begin(): Promise<void> {
    let queued!: () => void;
    this.queued = new Promise((resolve) => (queued = resolve));
    let containers: ContainerRecord[];
    try {
      containers = await this.ctx.store.listContainers();
      for (const c of containers) {
        if (STARTED_STATES.has(c.state) && c.state !== 'recovering') {
          await this.ctx.transition(c.id, { to: 'recovering', message: 'the manager restarted; reattaching to the VM' });
        }
      }
    } catch (e) {
      queued();
      throw e;
    }
    this.done = this.recoverAll(containers, queued);
  }

  private async recoverAll(containers: readonly ContainerRecord[], queued: () => void): Promise<void> {
    const { ctx } = this;
    const tasks: Promise<void>[] = [];
    try {
      // A sweep that fails part-way (an `ip` or `nft` hiccup) is logged; recovery goes on without it.
      await sweepOrphans(ctx.store, ctx.deps, ctx.logs, ctx.settings.stateDir, ctx.log).catch((e) =>
        ctx.log.error({ err: e }, `the orphan sweep failed: ${describeError(e)}`),
      );
      await this.reserveRecordedAddresses();
      const limit = new ConcurrencyLimit(RECOVERY_CONCURRENCY);
      for (const c of containers) tasks.push(ctx.queue.run(c.id, () => this.recoverTask(c.id, limit)));
    } finally {
      queued();
    }
    await Promise.all(tasks);
  }

  /**
   * Every address a VM row records is taken again before any container is provisioned: containers are
   * recovered in parallel, and one resumed early must not be given an address a VM recovered later holds.
   */
  private async reserveRecordedAddresses(): Promise<void> {
    const { ctx } = this;
    for (const vm of await ctx.store.listVms()) {
      const attachment = attachmentOf(vm);
      if (!attachment) continue;
      try {
        await ctx.deps.network.reserve(vm.id, attachment);
        this.reserved.add(vm.id);
      } catch (e) {
        // Tried again by the VM's own recovery, which fails and is retried if it still cannot.
        ctx.log.warn({ err: e, vm: vm.id }, `could not take back the VM's network: ${describeError(e)}`);
      }
    }
  }

  /**
   * Inside the queue: one container's recovery. One that fails (the store, `nft` for its tap) leaves the
   * container `unresponsive` and is tried again, never `recovering` for good.
   */
  private async recoverTask(id: string, limit?: ConcurrencyLimit): Promise<void> {
    const { ctx } = this;
    try {
      const outcome = await (limit ? limit.run(() => this.recoverOne(id)) : this.recoverOne(id));
      // Queued behind this task rather than awaited: recovery is over once every VM is accounted for.
      if (outcome === 'provision') ctx.enqueue(id, () => this.resumeProvisioning(id));
      if (outcome === 'restart') {
        const now = await ctx.get(id);
        await this.supervisor.maybeRestart(now, now.exit_code, 0);
      }
    } catch (e) {
      const message = `recovery failed: ${describeError(e)}`;
      ctx.log.error({ err: e, container: id }, message);
      if (ctx.closing || !(await ctx.store.getContainer(id).catch(() => undefined))) return;
      await ctx
        .transition(id, { to: 'unresponsive', message: `${message}; retrying every ${ctx.settings.recoveryRetryMs / 1000} s` })
        .catch((err) => ctx.taskFailed(id, err));
      ctx.runs.scheduleRetry(id, ctx.settings.recoveryRetryMs, () => ctx.enqueue(id, () => this.recoverTask(id)));
    }
  }

  private async resumeProvisioning(id: string): Promise<void> {
    const c = await this.ctx.get(id);
    await this.ctx.transition(id, { to: 'creating', patch: CLEARED, message: 'provisioning resumed after a manager restart' });
    await this.provisioner.provision(id, this.provisioner.newRun(c));
  }

  /** Inside the queue: what the container's VM, if any, has become; provisioning and restarts are the caller's. */
  private async recoverOne(id: string): Promise<Outcome> {
    const { ctx } = this;
    const c = await ctx.store.getContainer(id);
    if (!c) return 'done';
    const vm = await ctx.store.getVm(c.vm_id);
    // A VM row in `stopping` is a user stop that was under way; whatever the container row says, it is done.
    const wanted = c.desired_state === 'running' && vm?.state !== 'stopping';
    if (!vm) {
      if (ACTIVE_STATES.has(c.state)) return wanted ? 'provision' : this.markStopped(c);
      return wanted && (await this.restartWasPending(c)) ? 'restart' : 'done';
    }
    const attachment = attachmentOf(vm);
    if (attachment && !this.reserved.has(vm.id)) {
      await ctx.deps.network.reserve(vm.id, attachment);
      this.reserved.add(vm.id);
    }
    const run = Run.recorded(ctx, c, attachment);
    // Only a VM whose process was reported started is reattached; one still booting waits for the process
    // to run, which nobody will send it, so it is ended and provisioned again.
    if (wanted && STARTED_STATES.has(c.state) && (vm.state === 'running' || vm.state === 'paused')) {
      const adoption = await this.adopt(vm.id, vm.state === 'paused');
      if (adoption.kind !== 'gone') return this.reattach(c, run, adoption);
    }
    // The VM is gone, or it should not run: end it and give everything back.
    const exit = await ctx.deps.sandboxes.exitOf(vm.id);
    await run.release();
    if (!wanted) return this.markStopped(c);
    if (STARTED_STATES.has(c.state)) {
      if (exit) {
        await ctx.transition(c.id, {
          to: 'exited',
          patch: ended(exit.code, exit.oomKilled === true),
          message: `process exited with code ${exit.code}${exit.oomKilled ? ' (out of memory)' : ''} while the manager was not running`,
        });
      } else {
        const message = 'the VM ended while the manager was not running';
        await ctx.transition(c.id, { to: 'error', patch: { ...ended(), error_message: message }, message });
      }
      return 'restart';
    }
    if (ACTIVE_STATES.has(c.state)) return 'provision';
    return (await this.restartWasPending(c)) ? 'restart' : 'done';
  }

  /** Inside the queue: the container's VM still runs; it becomes the container's live run again. */
  private async reattach(c: ContainerRecord, run: Run, adoption: Exclude<Adoption, { kind: 'gone' }>): Promise<'done'> {
    const { ctx } = this;
    ctx.runs.setRun(c.id, run);
    // Its VM still has its volumes attached: nobody may attach them in a way that excludes it.
    run.volumes = [...namedClaims(c), ...(await ctx.store.volumes.anonymousOf(c.id)).map((v) => ({ name: v.name, readonly: false }))];
    run.started = true;
    run.startedAt = Date.now();
    run.attachPoint?.adopted();
    try {
      await run.openPorts(c.port_mappings);
    } catch (e) {
      await run.release();
      ctx.runs.clearRun(c.id, run);
      await ctx.transition(c.id, { to: 'error', patch: { ...ended(), error_message: describeError(e) }, message: describeError(e) });
      return 'done';
    }
    await this.apply(c.id, run, adoption);
    return 'done';
  }

  /**
   * Reattached, the container is `running` again (`paused` if the user paused it); paused or silent, it
   * says so and is tried again later.
   */
  private async apply(id: string, run: Run, adoption: Exclude<Adoption, { kind: 'gone' }>): Promise<void> {
    const { ctx } = this;
    const current = (await ctx.get(id)).state;
    const userPaused = (await ctx.store.getVm(run.vmId))?.state === 'paused';
    if (adoption.kind === 'adopted') {
      run.attachSandbox(adoption.sandbox);
      const to = userPaused ? 'paused' : 'running';
      const message = current === 'recovering' ? `reattached to the ${userPaused ? 'paused' : 'running'} VM after a manager restart` : 'the VM answers again';
      if (current !== to) await ctx.transition(id, { to, message: userPaused ? `${message}; paused by user` : message });
      this.supervisor.watch(run);
      return;
    }
    const every = ctx.settings.recoveryRetryMs;
    if (ctx.closing) return; // the next manager process tries again
    if (current !== adoption.kind) {
      ctx.log.warn({ container: id }, adoption.message);
      // A VM the user paused is where it should be; it is tried again only to reattach it (to unpause it).
      const message = userPaused && adoption.kind === 'paused' ? `paused by user; reattaching, tried again every ${every / 1000} s` : `${adoption.message}; retrying every ${every / 1000} s`;
      await ctx.transition(id, { to: adoption.kind, message });
    }
    ctx.runs.scheduleRetry(id, every, () => ctx.enqueue(id, () => this.retry(id, run)));
  }

  /** Inside the queue: one more try at a paused or silent VM, unless something else ended the run meanwhile. */
  private async retry(id: string, run: Run): Promise<void> {
    if (this.ctx.runs.run(id) !== run || run.finished || this.ctx.closing) return;
    const adoption = await this.adopt(run.vmId, (await this.ctx.store.getVm(run.vmId))?.state === 'paused');
    if (adoption.kind === 'gone') {
      await this.supervisor.finishRun(run, await this.ctx.deps.sandboxes.exitOf(run.vmId));
      return;
    }
    await this.apply(id, run, adoption);
  }

  /** Reconnects to a VM, saying what it found instead of throwing. */
  private async adopt(vmId: string, acceptPaused: boolean): Promise<Adoption> {
    try {
      const sandbox = await this.ctx.deps.sandboxes.adopt(vmId, { acceptPaused });
      return sandbox ? { kind: 'adopted', sandbox } : { kind: 'gone' };
    } catch (e) {
      const paused = isHearthError(e, 'HEARTH_ERR_VMM_PAUSED');
      return { kind: paused ? 'paused' : 'unresponsive', message: describeError(e) };
    }
  }

  /** The container ended by itself and the policy scheduled a restart that has not happened yet. */
  private async restartWasPending(c: ContainerRecord): Promise<boolean> {
    if (c.state !== 'exited' && c.state !== 'error') return false;
    return (await this.ctx.store.listEvents(c.id)).at(-1)?.type === 'restart-scheduled';
  }

  private async markStopped(c: ContainerRecord): Promise<'done'> {
    if (c.state !== 'stopped') {
      await this.ctx.transition(c.id, {
        to: 'stopped',
        patch: { ...ended(c.exit_code, c.oom_killed), desired_state: 'stopped' },
        message: 'stopped (found after a manager restart)',
      });
    }
    return 'done';
  }
}
