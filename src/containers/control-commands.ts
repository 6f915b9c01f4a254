/**
 * The commands that act on a running container's guest without ending its run: a signal to its process
 * (`kill`), pausing and resuming its vCPUs, the list of its processes, its usage; and renaming it and changing
 * its restart policy, in any state. Behind the manager's door, which has already checked the manager is open
 * and recovery queued.
 * @module
 */
import type { ContainerRecord, RestartPolicy } from '../model/index.ts';
import type { GuestProcess } from '../sandbox/sandbox.ts';
import { GLOBAL, stateConflict, type ContainerContext } from './context.ts';
import { resourcesOf } from './run.ts';
import { signalName } from './signal-name.ts';
import { containerStats, type ContainerStats } from './stats.ts';
import { mergeSpec, type MergeRules } from './validate.ts';

export class GuestControl {
  constructor(private readonly ctx: ContainerContext) {}

  /**
   * A signal to the process of a running or paused container (FailedPrecondition otherwise). A paused one is
   * resumed first (its guest, agent included, cannot take a signal while its vCPUs are stopped). Outside the
   * queue for a running one, so a kill reaches a process during a stop's grace.
   */
  async kill(id: string, signo: number): Promise<ContainerRecord> {
    const { ctx } = this;
    const send = async () => {
      const c = await ctx.get(id);
      const run = ctx.runs.run(id);
      if (!run?.sandbox || !run.started || run.finished || (c.state !== 'running' && c.state !== 'paused')) {
        throw stateConflict(`container ${c.name} is not running (state ${c.state})`);
      }
      if (c.state === 'paused') await this.resumeNow(id, run.vmId, run.sandbox, `unpaused to deliver ${signalName(signo)}`);
      await ctx.store.addEvent({ container_id: id, type: 'kill', from_state: null, to_state: null, message: `sent ${signalName(signo)} (${signo}) to the process` });
      await run.sandbox.signal(signo);
      return ctx.get(id);
    };
    return (await ctx.get(id)).state === 'paused' ? ctx.queue.run(id, send) : send();
  }

  /** Stops the VM's vCPUs: state `paused`, recorded in the VM's row so a restarted manager keeps it so. */
  pause(id: string): Promise<ContainerRecord> {
    const { ctx } = this;
    return ctx.queue.run(id, async () => {
      const c = await ctx.get(id);
      const run = ctx.runs.run(id);
      if (c.state !== 'running' || !run?.sandbox || run.finished) throw stateConflict(`container ${c.name} is ${c.state}; only a running container can be paused`);
      await run.sandbox.pause();
      await ctx.store.updateVm(run.vmId, { state: 'paused' });
      return ctx.transition(id, { to: 'paused', message: 'paused by user' });
    });
  }

  /** Resumes a container the user paused (its guest clock is set again): state `running`. */
  unpause(id: string): Promise<ContainerRecord> {
    const { ctx } = this;
    return ctx.queue.run(id, async () => {
      const c = await ctx.get(id);
      const run = ctx.runs.run(id);
      if (c.state !== 'paused') throw stateConflict(`container ${c.name} is ${c.state}, not paused`);
      if (!run?.sandbox || run.finished) {
        const every = ctx.settings.recoveryRetryMs / 1000;
        throw stateConflict(`container ${c.name} is paused and not reattached yet (tried again every ${every} s); unpause it then, or stop it`);
      }
      return this.resumeNow(id, run.vmId, run.sandbox, 'unpaused by user');
    });
  }

  /** The guest's processes. FailedPrecondition unless the container runs. */
  async top(id: string): Promise<GuestProcess[]> {
    const c = await this.ctx.get(id);
    const run = this.ctx.runs.run(id);
    if (c.state !== 'running' || !run?.sandbox || run.finished) throw stateConflict(`container ${c.name} is ${c.state}; top needs it running`);
    return run.sandbox.top();
  }

  /** What the container uses now, in its guest and on the host. FailedPrecondition unless it runs. */
  async stats(id: string): Promise<ContainerStats> {
    const c = await this.ctx.get(id);
    const run = this.ctx.runs.run(id);
    const sandbox = run?.sandbox;
    if (c.state !== 'running' || !sandbox || run.finished) throw stateConflict(`container ${c.name} is ${c.state}; stats need it running`);
    const attachment = run.attachment;
    const [sample, network] = await Promise.all([sandbox.stats(), attachment ? this.ctx.deps.network.counters(attachment) : null]);
    return containerStats(sample, sandbox.info, resourcesOf(c, this.ctx.settings), network);
  }

  /** Renames a container in any state (AlreadyExists if the name is taken). */
  rename(id: string, name: string): Promise<ContainerRecord> {
    const { ctx } = this;
    return ctx.queue.run(GLOBAL, async () => {
      const c = await ctx.get(id);
      if (c.name === name) return c;
      const renamed = await ctx.store.renameContainer(id, name);
      await ctx.store.addEvent({ container_id: id, type: 'renamed', from_state: null, to_state: null, message: `renamed from ${c.name} to ${name}` });
      return renamed;
    });
  }

  /**
   * Changes the restart policy in any state (`docker update --restart`): supervision reads it from the record
   * when a run ends, so the next end follows it. The pairing with `restart_max_retries` is checked as at create.
   */
  setRestartPolicy(id: string, policy: RestartPolicy, maxRetries: number | null, rules: MergeRules): Promise<ContainerRecord> {
    const { ctx } = this;
    return ctx.queue.run(id, async () => {
      const c = await ctx.get(id);
      const spec = mergeSpec(c, { restart_policy: policy, restart_max_retries: maxRetries }, rules);
      const updated = await ctx.store.updateContainer(id, { restart_policy: spec.restart_policy, restart_max_retries: spec.restart_max_retries });
      const limit = spec.restart_max_retries === null ? '' : ` (at most ${spec.restart_max_retries} restarts)`;
      await ctx.store.addEvent({ container_id: id, type: 'updated', from_state: null, to_state: null, message: `restart policy ${spec.restart_policy}${limit}` });
      return updated;
    });
  }

  /** Inside the queue: the paused VM's vCPUs run again. */
  private async resumeNow(id: string, vmId: string, sandbox: { resume(): Promise<void> }, message: string): Promise<ContainerRecord> {
    await sandbox.resume();
    await this.ctx.store.updateVm(vmId, { state: 'running' });
    return this.ctx.transition(id, { to: 'running', message });
  }
}
