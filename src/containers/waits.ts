/**
 * `wait` (`docker wait`): answers when a container's condition holds, with the exit code of its last run.
 * - not-running: at once if the container is not running (nor provisioning, nor due to restart), else at
 *   the end of its current run;
 * - next-exit: at the end of the next run that ends, whatever the state now;
 * - removed: when the container is deleted.
 * A run's end is a transition to exited, stopped or error (its event carries the exit code); a deletion
 * also ends the first two. The subscription is taken before the state is read, so no end is missed.
 * @module
 */
import { ACTIVE_STATES, type ContainerRecord, type EventRecord } from '../model/index.ts';
import { shuttingDown, type ContainerContext } from './context.ts';

export const WAIT_CONDITIONS = ['not-running', 'next-exit', 'removed'] as const;
export type WaitCondition = (typeof WAIT_CONDITIONS)[number];

export interface WaitResult {
  exit_code: number | null;
  /** Set when the run ended in `error`. */
  error?: { message: string };
}

const ENDED = new Set(['exited', 'stopped', 'error']);

export async function waitFor(ctx: ContainerContext, id: string, condition: WaitCondition, signal?: AbortSignal): Promise<WaitResult> {
  let last: WaitResult = { exit_code: null };
  let settle!: (r: WaitResult | Error) => void;
  const settled = new Promise<WaitResult>((resolve, reject) => {
    settle = (r) => (r instanceof Error ? reject(r) : resolve(r));
  });
  let waiting = false;
  const onEvent = (e: EventRecord) => {
    if (e.container_id !== id || e.type !== 'state' || !e.to_state || !ENDED.has(e.to_state)) return;
    last = resultOf(e.to_state === 'error', e.exit_code, e.message);
    if (waiting && condition !== 'removed') settle(last);
  };
  const onRemoved = (removed: string) => {
    if (removed === id) settle(last);
  };
  const onClose = () => settle(shuttingDown('the manager is shutting down'));
  // The client went: nobody reads the answer, the subscription just ends.
  const onAbort = () => settle(last);
  const unsubscribe = ctx.store.onEvent(onEvent);
  ctx.notices.on('removed', onRemoved);
  ctx.closed.signal.addEventListener('abort', onClose);
  signal?.addEventListener('abort', onAbort);
  try {
    const c = await ctx.get(id);
    last = resultOf(c.state === 'error', c.exit_code, c.error_message);
    waiting = true;
    if (condition === 'not-running' && !isRunning(ctx, c)) return last;
    if (ctx.closed.signal.aborted) onClose();
    return await settled;
  } finally {
    unsubscribe();
    ctx.notices.off('removed', onRemoved);
    ctx.closed.signal.removeEventListener('abort', onClose);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Provisioning, running (or paused, recovering) or about to restart: Docker's "running" for `wait`. */
function isRunning(ctx: ContainerContext, c: ContainerRecord): boolean {
  return ACTIVE_STATES.has(c.state) || ctx.runs.run(c.id) !== undefined || ctx.runs.hasRestartPending(c.id);
}

function resultOf(isError: boolean, code: number | null, message: string | null): WaitResult {
  return isError ? { exit_code: code, error: { message: message ?? 'the container failed' } } : { exit_code: code };
}
