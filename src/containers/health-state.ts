/**
 * Docker's health-check rules as pure functions over plain values (times in epoch milliseconds), so they are
 * tested with a made-up clock; health.ts runs them on timers. After moby's daemon/health.go:
 * - the check is the image's HEALTHCHECK with the request's fields over it, one by one; `NONE` is none;
 * - a run starts `starting` with no failures (the log is kept); the first check comes one interval after;
 * - exit 0 passes: `healthy`, the streak back to 0; anything else fails and adds to the streak, except while
 *   the container is still `starting` within its start period; `retries` failures in a row are `unhealthy`;
 * - while `starting` within the start period, checks come every start interval, else every interval,
 *   counted from the end of one check to the start of the next;
 * - when the checks stop (the container stops or pauses) the status is `unhealthy`, as Docker reports it.
 * @module
 */
import type { HealthcheckSpec, HealthResult, HealthState } from '../model/index.ts';

/** The longest wait a Node timer takes; longer settings are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
export const MAX_LOG_ENTRIES = 5;

export const DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 };

/** An image's HEALTHCHECK as its config stores it: nanoseconds, 0 meaning "not set". */
export interface ImageHealthcheck {
  test: string[];
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  startIntervalNs?: number;
  retries: number;
}

/** The check a container runs: the command and the timings, every default applied. */
export interface HealthPolicy {
  /** What the exec runs: the command, or the shell and the command line. */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

/**
 * The container's check, or null if it has none: no test anywhere, `NONE`, or a kind Docker does not know
 * (an image's; requests are validated). `shell` is the image's SHELL (`/bin/sh -c` if empty).
 */
export function healthPolicy(image: ImageHealthcheck | undefined, request: HealthcheckSpec | null, shell: readonly string[] = []): HealthPolicy | null {
  const fromImage = (ns: number | undefined) => (ns ? ns / 1e6 : undefined);
  const seconds = (s: number | undefined) => (s === undefined ? undefined : s * 1000);
  const test = request?.test ?? image?.test ?? [];
  const ms = (req: number | undefined, img: number | undefined, fallback: number) => Math.min(req ?? img ?? fallback, MAX_TIMER_MS);
  const command = test.slice(1);
  let argv: string[];
  if (test[0] === 'CMD') argv = command;
  else if (test[0] === 'CMD-SHELL') argv = [...(shell.length > 0 ? shell : ['/bin/sh', '-c']), ...command];
  else return null;
  if (command.length === 0) return null;
  return {
    argv,
    intervalMs: ms(seconds(request?.interval_s), fromImage(image?.intervalNs), DEFAULTS.intervalMs),
    timeoutMs: ms(seconds(request?.timeout_s), fromImage(image?.timeoutNs), DEFAULTS.timeoutMs),
    retries: request?.retries ?? (image?.retries || DEFAULTS.retries),
    startPeriodMs: ms(seconds(request?.start_period_s), fromImage(image?.startPeriodNs), DEFAULTS.startPeriodMs),
    startIntervalMs: ms(seconds(request?.start_interval_s), fromImage(image?.startIntervalNs), DEFAULTS.startIntervalMs),
  };
}

/** A new run of the container: `starting` again, no failures; the log of earlier runs stays. */
export function startedRun(prev: HealthState | null): HealthState {
  return { status: 'starting', failing_streak: 0, log: prev?.log ?? [] };
}

/** The checks stopped with the container's run (or a pause): Docker reports `unhealthy` from then on. */
export function checksStopped(s: HealthState): HealthState {
  return { ...s, status: 'unhealthy' };
}

/** One check's result applied; `startedAt` is when the container's run started. */
export function applyResult(s: HealthState, result: HealthResult, policy: HealthPolicy, startedAt: number): HealthState {
  const log = [...s.log, result].slice(-MAX_LOG_ENTRIES);
  if (result.exit_code === 0) return { status: 'healthy', failing_streak: 0, log };
  const inStartPeriod = s.status === 'starting' && Date.parse(result.start) - startedAt < policy.startPeriodMs;
  if (inStartPeriod) return { ...s, log };
  const failing_streak = s.failing_streak + 1;
  return { status: failing_streak >= policy.retries ? 'unhealthy' : s.status, failing_streak, log };
}

/** How long after `now` (a check just ended, or the checks began) the next check starts. */
export function nextCheckDelay(policy: HealthPolicy, s: HealthState, now: number, startedAt: number): number {
  if (now - startedAt >= policy.startPeriodMs) return policy.intervalMs;
  return s.status === 'starting' ? policy.startIntervalMs : policy.intervalMs;
}

/** What the event of a status change says (begun, or a check's result). */
export function describeChange(s: HealthState): string {
  if (s.status === 'starting') return 'health checks begin';
  if (s.status === 'healthy') return 'health check passed';
  const last = s.log.at(-1);
  return `${s.failing_streak} health checks in a row failed${last ? ` (last: exit code ${last.exit_code})` : ''}`;
}
