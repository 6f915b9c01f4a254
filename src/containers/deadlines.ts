/**
 * Waiting with a deadline: every provisioning step and stop has a time limit, ends early when its run is
 * aborted, and undoes what it took if the answer comes after the caller gave up.
 * @module
 */
import { HearthError, isHearthError } from '../errors.ts';

export function cancelled(): HearthError {
  return new HearthError('FailedPrecondition', 'HEARTH_ERR_CANCELLED', 'cancelled');
}

export const isCancelled = (e: unknown) => isHearthError(e, 'HEARTH_ERR_CANCELLED');

export interface Step<T> {
  /** Named in the timeout's message: "<what> timed out after 30 s". */
  what: string;
  ms: number;
  /** Aborted by a stop or delete: the wait ends with HEARTH_ERR_CANCELLED. */
  abort: AbortSignal;
  start: (signal: AbortSignal) => Promise<T>;
  /** Gives back what a result that came too late took. */
  undo?: (late: T) => Promise<void>;
  /** Runs `undo` without throwing (the caller logs). */
  safely: (what: string, f: () => unknown) => Promise<void>;
}

/**
 * Runs one step with a deadline; the abort also ends the wait. If the step gives up while the operation is
 * still under way and `undo` is given, the operation's late result is waited for (at most the step's time
 * again) and undone, so nothing it took is left behind; past that wait it is undone whenever it ends.
 */
export async function runStep<T>(step: Step<T>): Promise<T> {
  const { what, ms, abort, undo, safely } = step;
  if (abort.aborted) throw cancelled();
  const signal = AbortSignal.any([abort, AbortSignal.timeout(ms)]);
  const op = step.start(signal);
  try {
    return await raceSignal(op, signal, () => (abort.aborted ? cancelled() : timedOut(what, ms)));
  } catch (e) {
    if (undo && signal.aborted) {
      const late = await withTimeout(op, ms, what).then(
        (v) => ({ v }),
        () => undefined,
      );
      if (late) await safely(`undoing ${what}`, () => undo(late.v));
      // Still under way: undo it whenever it ends.
      else void op.then((v) => safely(`undoing ${what}`, () => undo(v)), () => {});
    }
    throw e;
  }
}

export function withTimeout<T>(op: Promise<T>, ms: number, what: string): Promise<T> {
  return raceSignal(op, AbortSignal.timeout(ms), () => timedOut(what, ms));
}

function timedOut(what: string, ms: number): HearthError {
  return new HearthError('Unavailable', 'HEARTH_ERR_TIMEOUT', `${what} timed out after ${formatMs(ms)}`);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function raceSignal<T>(op: Promise<T>, signal: AbortSignal, reason: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    op.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
