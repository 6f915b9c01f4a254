/**
 * When the process of a container ends by itself, the policy decides whether it runs again, and after how
 * long. Docker's rules (https://docs.docker.com/engine/containers/start-containers-automatically/):
 * `no` never; `always` after any exit; `on-failure` after a non-zero exit, at most `restart_max_retries`
 * times (0: no limit). A stop the user asked for is never undone: the caller only asks when the user's
 * desired state is still `running`. The delay starts at `backoffInitialMs` and doubles on each restart up to
 * `backoffMaxMs`; a run that lasted `backoffResetMs` or more starts the doubling over.
 * @module
 */
import type { RestartPolicy } from '../model/index.ts';

export interface BackoffSettings {
  backoffInitialMs: number;
  backoffMaxMs: number;
  backoffResetMs: number;
}

export interface ExitFacts {
  policy: RestartPolicy;
  maxRetries: number | null;
  /** The exit code; null when the VM died without reporting one (counts as a failure). */
  exitCode: number | null;
  /** Policy restarts so far. */
  restartCount: number;
}

export function shouldRestart(f: ExitFacts): boolean {
  switch (f.policy) {
    case 'no':
      return false;
    case 'always':
      return true;
    case 'on-failure':
      if (f.exitCode === 0) return false;
      return !f.maxRetries || f.restartCount < f.maxRetries;
  }
}

/** Delay before the next restart, given the previous delay (0 if none) and how long the last run lasted. */
export function nextDelay(previousMs: number, ranForMs: number, s: BackoffSettings): number {
  if (previousMs <= 0 || ranForMs >= s.backoffResetMs) return s.backoffInitialMs;
  return Math.min(previousMs * 2, s.backoffMaxMs);
}
