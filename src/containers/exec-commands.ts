/**
 * The exec commands behind the manager's door: create (the container must be running; its spec is merged
 * the Docker way from the image and the container), start (once; resolves when the command started or
 * could not), and the `exec-start` / `exec-end` events that record them.
 * @module
 */
import { describeError, invalidArgument } from '../errors.ts';
import { signalName } from './signal-name.ts';
import { stateConflict, type ContainerContext } from './context.ts';
import { execState, type Exec } from './execs.ts';
import { hostnameOf } from '../model/index.ts';
import { buildExecSpec, containerProcessConfig, type ExecRequest } from './process-spec.ts';
import { capabilityMask } from './capabilities.ts';

/** Creates an exec in a running container (FailedPrecondition otherwise). */
export async function createExec(ctx: ContainerContext, id: string, request: ExecRequest): Promise<Exec> {
  for (const key of Object.keys(request.env)) {
    if (key === '' || /[=\u0000]/.test(key) || key.length > 1024) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/env has an invalid variable name ${JSON.stringify(key.slice(0, 40))}: 1-1024 characters, no "=" or NUL`, 'body/env');
    }
  }
  const c = await ctx.get(id);
  const run = ctx.runs.run(id);
  if (c.state !== 'running' || !run?.sandbox || !run.started || run.finished) {
    throw stateConflict(`container ${c.name} is ${c.state}; an exec needs it running`);
  }
  const spec = buildExecSpec(containerProcessConfig((await ctx.imageOf(c, run)).config, c), { env: c.env_vars, hostname: hostnameOf(c), capabilities: capabilityMask(c) }, request);
  return ctx.execs.add(id, spec);
}

/** Starts an exec that was created and not started; resolves once its command runs (or could not start). */
export async function startExec(ctx: ContainerContext, exec: Exec): Promise<void> {
  if (exec.state !== 'created') throw execState(`exec ${exec.id} was already started (it is ${exec.state})`);
  const c = await ctx.get(exec.containerId);
  const run = ctx.runs.run(c.id);
  if (c.state !== 'running' || !run?.sandbox || run.finished) {
    throw stateConflict(`container ${c.name} is ${c.state}; an exec needs it running`);
  }
  const what = exec.spec.argv.join(' ');
  await exec.start(run.sandbox, {
    onStart: (e) =>
      record(ctx, e, 'exec-start', null, e.startError ? `exec ${e.id} could not start ${what}: ${e.startError}` : `exec ${e.id} started: ${what} (pid ${e.pid})`),
    onExit: (e) => record(ctx, e, 'exec-end', e.exitCode, `exec ${e.id} ended${e.exitCode === null ? ' with the VM' : ` with code ${e.exitCode}`}`),
  });
}

/** A signal to an exec's command (its process group with a tty). */
export function signalExec(ctx: ContainerContext, exec: Exec, signo: number): void {
  if (!exec.running) throw execState(`exec ${exec.id} is not running`);
  exec.signal(signo);
  ctx.log.info({ container: exec.containerId, exec: exec.id }, `sent ${signalName(signo)} to the exec`);
}

/** Exec events are written one after another per manager: an exec's start is always before its end. */
const writes = new WeakMap<ContainerContext, Promise<unknown>>();
function record(ctx: ContainerContext, exec: Exec, type: 'exec-start' | 'exec-end', exitCode: number | null, message: string): void {
  const event = { container_id: exec.containerId, type, from_state: null, to_state: null, message, exit_code: exitCode };
  const written = (writes.get(ctx) ?? Promise.resolve())
    .then(() => ctx.store.addEvent(event))
    .catch((e: unknown) => ctx.log.warn({ err: e, container: exec.containerId }, `could not record an exec event: ${describeError(e)}`));
  writes.set(ctx, written);
}
