/**
 * Supervision of running containers: when a VM goes, its run is released, how it ended is recorded
 * (stopped, exited with its code, or error), and the restart policy decides whether it starts again, after
 * Docker's backoff. A policy restart is a task on the container's queue like any command.
 * @module
 */
import type { ContainerRecord } from '../model/index.ts';
import type { ProcessExit } from '../sandbox/sandbox.ts';
import { CLEARED, ended, type ContainerContext } from './context.ts';
import type { Provisioner } from './provisioning.ts';
import { nextDelay, shouldRestart } from './restart-policy.ts';
import type { Run } from './run.ts';

export class Supervisor {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly provisioner: Provisioner,
  ) {}

  /** Queues the run's end when its VM goes. */
  watch(run: Run): void {
    const sandbox = run.sandbox!;
    void sandbox.wait().then(
      (exit) => this.ctx.enqueue(run.containerId, () => this.finishRun(run, exit)),
      (e) => {
        this.ctx.log.error({ err: e, container: run.containerId }, 'waiting for the VM failed');
        this.ctx.enqueue(run.containerId, () => this.finishRun(run, null));
      },
    );
  }

  /** Inside the queue: the VM is gone. Releases the run, records how it ended, applies the restart policy. */
  async finishRun(run: Run, exit: ProcessExit | null): Promise<void> {
    const { ctx } = this;
    if (run.finished || ctx.detaching) return;
    await run.release();
    const id = run.containerId;
    ctx.runs.clearRun(id, run);
    ctx.execs.drop(id);
    const c = await ctx.store.getContainer(id);
    if (!c) return;
    const code = exit?.code ?? null;
    const oomKilled = exit?.oomKilled === true;
    if (run.stopRequested) {
      await ctx.transition(id, {
        to: 'stopped',
        patch: { ...ended(code, oomKilled), desired_state: 'stopped' },
        message: `stopped by user${code === null ? '' : ` (exit code ${code})`}`,
      });
    } else if (run.agentError || exit === null) {
      const message = run.agentError ?? 'the VM ended without reporting an exit status';
      await ctx.transition(id, { to: 'error', patch: { ...ended(code, oomKilled), error_message: message }, message });
    } else {
      const why = oomKilled ? ' (out of memory: the OOM killer ended a process of the container)' : '';
      await ctx.transition(id, { to: 'exited', patch: ended(code, oomKilled), message: `process exited with code ${code}${why}` });
    }
    ctx.logs.end(id);
    if (!run.stopRequested && !run.agentError && c.desired_state === 'running') {
      await this.maybeRestart(c, code, Date.now() - run.startedAt);
    }
  }

  /**
   * Schedules a policy restart if the policy asks for one. The `restart-scheduled` event is the record of
   * it: a container whose last event it is has a restart pending, which the next manager process re-arms
   * (see recovery.ts). During shutdown only the event is written.
   */
  async maybeRestart(c: ContainerRecord, exitCode: number | null, ranForMs: number): Promise<void> {
    const { ctx } = this;
    const restart = shouldRestart({
      policy: c.restart_policy,
      maxRetries: c.restart_max_retries,
      exitCode,
      restartCount: c.restart_count,
    });
    if (!restart) return;
    const delay = nextDelay(ctx.runs.lastDelayMs(c.id), ranForMs, ctx.settings.restart);
    ctx.runs.setLastDelayMs(c.id, delay);
    const which = `restart ${c.restart_count + 1} (policy ${c.restart_policy})`;
    await ctx.store.addEvent({
      container_id: c.id,
      type: 'restart-scheduled',
      from_state: null,
      to_state: null,
      message: ctx.closing ? `${which} when the manager starts again` : `${which} in ${delay} ms`,
    });
    if (ctx.closing) return;
    ctx.runs.scheduleRestart(c.id, delay, () => ctx.enqueue(c.id, () => this.policyRestart(c.id)));
  }

  private async policyRestart(id: string): Promise<void> {
    const { ctx } = this;
    const c = await ctx.store.getContainer(id);
    if (!c || c.desired_state !== 'running' || ctx.runs.run(id) || ctx.closing) return;
    await ctx.transition(id, {
      to: 'creating',
      patch: { restart_count: c.restart_count + 1, ...CLEARED },
      message: `restarting (policy ${c.restart_policy}, restart ${c.restart_count + 1})`,
    });
    await this.provisioner.provision(id, this.provisioner.newRun(c));
  }
}
