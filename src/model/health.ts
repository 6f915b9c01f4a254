/**
 * Health checks, Docker's: what a user asks for (`HealthcheckSpec`, over the image's `HEALTHCHECK`) and what
 * the checks found (`HealthState`). A container without a check (none asked, or `["NONE"]`) has no state.
 * @module
 */

/**
 * starting: no check has passed since the container (re)started; healthy: the last check passed; unhealthy:
 * `retries` checks in a row failed, or the checks stopped (the container stopped or paused), as Docker says.
 */
export const HEALTH_STATUSES = ['starting', 'healthy', 'unhealthy'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/**
 * A request's `healthcheck`. Any field left out is the image's, then Docker's default (interval 30 s,
 * timeout 30 s, retries 3, start period 0, start interval 5 s), field by field, as Docker merges them.
 */
export interface HealthcheckSpec {
  /** `["CMD", cmd, ...args]`, `["CMD-SHELL", "a shell command"]` or `["NONE"]` (no check, not even the image's). */
  test?: string[];
  interval_s?: number;
  timeout_s?: number;
  retries?: number;
  start_period_s?: number;
  start_interval_s?: number;
}

/** One check, as Docker's `HealthcheckResult`: exit 0 passed, anything else failed (-1: it could not run or timed out). */
export interface HealthResult {
  /** ISO 8601. */
  start: string;
  end: string;
  exit_code: number;
  /** stdout and stderr together, at most 4096 bytes (then `...`). */
  output: string;
}

export interface HealthState {
  status: HealthStatus;
  /** Failed checks in a row (those in the start period before the first pass not counted). */
  failing_streak: number;
  /** The last five results, oldest first; kept across restarts of the container. */
  log: HealthResult[];
}
