/**
 * Provisioning: a new run for a container, then its steps creating -> booting -> initializing -> running.
 * On failure everything the run took is released and the container goes to `error`; when the run is
 * aborted (stop, delete, shutdown), the command that aborted it decides the state.
 * @module
 */
import { describeError } from '../errors.ts';
import { hostnameOf, type ContainerRecord } from '../model/index.ts';
import { CLEARED, containerNotFound, ended, type ContainerContext } from './context.ts';
import { isCancelled } from './deadlines.ts';
import { hostLines } from './network-hosts.ts';
import { buildProcessSpec, containerProcessConfig, resolvConf } from './process-spec.ts';
import { capabilityMask } from './capabilities.ts';
import { Run, resourcesOf, type AbortReason } from './run.ts';
import { StartupSteps } from './startup-steps.ts';
import { checkClaims, containerNames } from './volume-claims.ts';
import { prepareMounts, prepareReadOnly } from './volume-mounts.ts';

export class Provisioner {
  constructor(
    private readonly ctx: ContainerContext,
    /** Told of each run that reached `running`: supervision takes it from there. */
    private readonly onRunning: (run: Run) => void,
  ) {}

  /** A new attempt for the container, registered as its live run. */
  newRun(c: ContainerRecord): Run {
    const run = Run.attempt(this.ctx, c);
    this.ctx.runs.setRun(c.id, run);
    // A task that reached its turn after shutdown began: it provisions nothing now, the next manager does.
    if (this.ctx.closing) run.abort.abort('shutdown' satisfies AbortReason);
    return run;
  }

  /** Inside the queue: clears the last run's outcome and provisions (a start by the user). */
  async startNow(cur: ContainerRecord, message: string): Promise<void> {
    this.ctx.runs.setLastDelayMs(cur.id, 0);
    await this.ctx.transition(cur.id, {
      to: 'creating',
      patch: { desired_state: 'running', restart_count: 0, ...CLEARED },
      message,
    });
    await this.provision(cur.id, this.newRun(cur));
  }

  /** Inside the queue: the steps, from whatever state the container was put in for them. */
  async provision(id: string, run: Run): Promise<void> {
    const { ctx } = this;
    const steps = new StartupSteps();
    try {
      const c = await ctx.store.getContainer(id);
      if (!c) throw containerNotFound(id);
      const resources = resourcesOf(c, ctx.settings);
      // Three strands that need nothing of each other run at once (the image then the volumes, the network,
      // the writable layer), each step timed on its own; `prepared` is what the start waited for them all. Every one is waited for, failed or not, so `release` finds all they took.
      const imageAndVolumes = async () => {
        const image = await steps.timed('image', async () => {
          // Once resolved, a container keeps its image (and the writable layer made on it) when its tag moves.
          const image = await run.resolveImage(c.image, c.image_digest);
          if (c.image_digest === null) await ctx.store.updateContainer(id, { image_digest: image.manifestDigest });
          return image;
        });
        const mounts = await steps.timed('volumes', async () => {
          const mounts = await prepareMounts(ctx, c, image.config.volumes ?? []);
          // The check and the claim with no await between them: two starts cannot both take a volume (volume-claims.ts).
          checkClaims(ctx.runs.runs(), id, mounts.claims, containerNames(await ctx.store.listContainers()));
          run.volumes = mounts.claims;
          await prepareReadOnly(ctx, id, mounts.claims);
          return mounts;
        });
        return { image, mounts };
      };
      const [{ image, mounts }, attachment] = await settled([
        imageAndVolumes(),
        steps.timed('network', () => run.attachNetwork(resources)),
        steps.timed('layer', () => run.prepareWritableLayer()),
      ] as const);
      steps.mark('prepared');
      await ctx.store.updateContainer(id, { guest_ip: attachment.guestIp, image_stop_signal: image.config.stopSignal || null });
      const hostname = hostnameOf(c); // as Docker
      const process = buildProcessSpec(containerProcessConfig(image.config, c), {
        args: c.args,
        env: c.env_vars,
        hostname,
        extraHosts: hostLines({ ...c, guest_ip: attachment.guestIp }, await ctx.store.listContainers(), attachment.gateway),
        resolvConf: resolvConf(c.dns.length > 0 ? c.dns : ctx.settings.dnsServers, c),
        tty: c.tty,
        stdinOpen: c.stdin_open,
        capabilities: capabilityMask(c),
      });
      await ctx.transition(id, { to: 'booting', message: `booting VM ${run.vmId} at ${attachment.guestIp}` });
      steps.mark('spec');
      await run.launch(process, resources, mounts.volumes, steps.mark);
      await ctx.transition(id, { to: 'initializing', message: 'VM booted; starting the process' });
      await run.waitStarted();
      steps.mark('process');
      await run.openPorts(c.port_mappings);
      steps.mark('ports');
      // The agent copied the image's content into these before it started the process: their first use is done.
      for (const name of mounts.firstUse) await ctx.store.volumes.markInitialized(name);
      await ctx.transition(id, { to: 'running', patch: { started_at: new Date().toISOString() }, message: 'process started' });
      this.onRunning(run);
      ctx.log.info({ container: id, vm: run.vmId, startup_ms: steps.ms, total_ms: steps.totalMs() }, 'container started');
    } catch (e) {
      await run.release();
      ctx.runs.clearRun(id, run);
      if (run.aborted || isCancelled(e)) return;
      ctx.log.warn({ container: id, err: e }, `provisioning failed: ${describeError(e)}`);
      await ctx.transition(id, { to: 'error', patch: { ...ended(), error_message: describeError(e) }, message: describeError(e) });
      ctx.logs.end(id);
    }
  }
}

/**
 * `Promise.all` that waits for every promise to settle before it rejects with the first failure: what the
 * others took is then recorded where `release` looks.
 */
async function settled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
