/**
 * The commands that end or begin a container's run: start, stop, restart and delete, each a task on the
 * container's queue. A stop or delete first aborts provisioning in progress, which releases what it took
 * and ends its task; then the command's own task runs. Behind the manager's door, which has already
 * checked the manager is open and recovery queued.
 * @module
 */
import { describeError } from '../errors.ts';
import { ACTIVE_STATES, deletedMessage, type ContainerRecord } from '../model/index.ts';
import { ended, shuttingDown, stateConflict, type ContainerContext } from './context.ts';
import { refreshPeerHosts } from './network-hosts.ts';
import type { Provisioner } from './provisioning.ts';
import { Run, type AbortReason } from './run.ts';
import { stopSignal } from './stop-signal.ts';
import type { Supervisor } from './supervision.ts';
import { checkClaims, containerNames, namedClaims } from './volume-claims.ts';
import { removeAnonymous } from './volume-mounts.ts';

export class RunCommands {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly provisioner: Provisioner,
    private readonly supervisor: Supervisor,
  ) {}

  /**
   * Starts a stopped, exited or failed container and waits until it runs (or fails: the returned record says
   * which). A pending policy restart happens now instead. FailedPrecondition if it is already running.
   */
  async start(id: string): Promise<ContainerRecord> {
    const { ctx } = this;
    // Only a policy restart: a paused or silent VM's next try stays armed if this start is refused.
    ctx.runs.cancelRestart(id);
    return ctx.queue.run(id, async () => {
      // Again here: a self-exit accounted for while this task waited may have scheduled one.
      ctx.runs.cancelRestart(id);
      const cur = await this.ctx.get(id);
      if (ctx.runs.run(id) || ACTIVE_STATES.has(cur.state)) throw stateConflict(`container ${cur.name} is already ${cur.state}`);
      checkClaims(ctx.runs.runs(), id, namedClaims(cur), containerNames(await ctx.store.listContainers()));
      await this.provisioner.startNow(cur, 'started by user');
      return this.afterStart(id);
    });
  }

  /**
   * Stops the process (its stop signal, SIGKILL after `graceMs`), or interrupts provisioning, or cancels a
   * pending restart; the container ends `stopped` and the restart policy leaves it so. FailedPrecondition
   * if there was nothing to stop.
   */
  async stop(id: string, graceMs?: number): Promise<ContainerRecord> {
    const { ctx } = this;
    let hadRestart = ctx.runs.cancelTimers(id);
    this.abortProvisioning(id, 'stop');
    return ctx.queue.run(id, async () => {
      // Again here: a self-exit accounted for while this task waited may have scheduled a restart, which
      // this stop must cancel (and count as something stopped).
      hadRestart ||= ctx.runs.cancelTimers(id);
      const cur = await this.ctx.get(id);
      if (!(await this.stopNow(cur, graceMs, hadRestart))) {
        throw stateConflict(`container ${cur.name} is not running (state ${cur.state})`);
      }
      return this.ctx.get(id);
    });
  }

  /** Stops the container if it runs (as `stop`), then starts it (as `start`). Any state. */
  async restart(id: string, graceMs?: number): Promise<ContainerRecord> {
    const { ctx } = this;
    let hadRestart = ctx.runs.cancelTimers(id);
    this.abortProvisioning(id, 'stop');
    return ctx.queue.run(id, async () => {
      hadRestart ||= ctx.runs.cancelTimers(id); // as in stop
      const cur = await this.ctx.get(id);
      await this.stopNow(cur, graceMs, hadRestart);
      await this.provisioner.startNow(await this.ctx.get(id), 'restarted by user');
      return this.afterStart(id);
    });
  }

  /** Deletes a container in any state: kills its VM (as `docker rm -f`), releases everything, drops its logs. */
  async remove(id: string): Promise<void> {
    const { ctx } = this;
    ctx.runs.cancelTimers(id);
    this.abortProvisioning(id, 'delete');
    await ctx.queue.run(id, async () => {
      ctx.runs.cancelTimers(id); // as in stop
      const c = await this.ctx.get(id);
      const run = ctx.runs.run(id);
      if (run) {
        run.stopRequested = true;
        await run.release();
      }
      // Whatever no run accounts for: a VM row a failed release left, or a VMM that outlived its records.
      await Run.remains(ctx, c).releaseRemains();
      await removeAnonymous(ctx, id);
      ctx.runs.delete(id);
      ctx.execs.drop(id);
      await ctx.store.deleteContainer(id);
      // its events went with it: this one stays, naming it (Docker's `destroy`)
      await ctx.store.addEvent({ container_id: null, image: c.image, type: 'deleted', from_state: c.state, to_state: null, message: deletedMessage(c) });
      // a running one's address is given back without a run's end: its peers forget it now
      if (c.networks.length > 0) void refreshPeerHosts(ctx, c.networks.map((m) => m.network)).catch((e: unknown) => ctx.log.warn({ err: e, container: id }, `could not tell ${c.name}'s peers it is gone: ${describeError(e)}`));
      ctx.notices.emit('removed', id);
      ctx.logs.remove(id);
      ctx.deps.images.release(id); // its image may now be collected
    });
  }

  /** Inside the queue, after startNow: the record, or Unavailable if shutdown interrupted the provisioning. */
  private async afterStart(id: string): Promise<ContainerRecord> {
    const c = await this.ctx.get(id);
    if (this.ctx.closing && ACTIVE_STATES.has(c.state) && c.state !== 'running') {
      throw shuttingDown(`the manager is shutting down; container ${c.name} resumes provisioning when it starts again`);
    }
    return c;
  }

  /** Inside the queue: ends whatever runs or is pending. Returns false if there was nothing to stop. */
  /** `graceMs` undefined: the container's stop timeout, else the manager's. */
  private async stopNow(cur: ContainerRecord, graceMs: number | undefined, hadRestart: boolean): Promise<boolean> {
    const { ctx } = this;
    const run = ctx.runs.run(cur.id);
    if (run?.started && !run.finished) {
      run.stopRequested = true;
      // A paused guest cannot hear its stop signal: its vCPUs run again first, so the process gets the
      // signal and its grace period as it would running (rather than a pointless wait, then SIGKILL).
      if (cur.state === 'paused' && run.sandbox) await run.sandbox.resume();
      // Recorded before the VM is signalled: if the manager dies during the grace period, the next one must
      // know the user wanted this container stopped, not treat the VM's end as a crash to restart from.
      await ctx.store.updateContainer(cur.id, { desired_state: 'stopped' });
      const grace = graceMs ?? (cur.stop_timeout_s !== null ? cur.stop_timeout_s * 1000 : ctx.settings.stopGraceMs);
      const exit = await run.stop(stopSignal(cur.stop_signal ?? run.image?.config.stopSignal ?? cur.image_stop_signal ?? undefined), grace);
      await this.supervisor.finishRun(run, exit);
      return true;
    }
    if (!hadRestart && !ACTIVE_STATES.has(cur.state)) return false;
    // Provisioning was interrupted (its task released everything), or a restart was pending, or recovery
    // could not take the VM back: whatever of it is left goes now, so `stopped` is true.
    await Run.remains(ctx, cur).releaseRemains();
    await ctx.transition(cur.id, {
      to: 'stopped',
      patch: { ...ended(cur.exit_code, cur.oom_killed), desired_state: 'stopped' },
      message: hadRestart ? 'stopped by user; pending restart cancelled' : 'stopped by user during provisioning',
    });
    ctx.logs.end(cur.id);
    return true;
  }

  private abortProvisioning(id: string, reason: AbortReason): void {
    const run = this.ctx.runs.run(id);
    if (run && !run.started) run.abort.abort(reason);
  }
}
