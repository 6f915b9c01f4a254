/**
 * Docker's health-check rules (src/containers/health-state.ts) on a made-up clock: a run of checks is
 * simulated from the container's start, each check taking the time the script gives it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CappedOutput, goDuration, MAX_OUTPUT_BYTES } from '../../src/containers/health-probe.ts';
import {
  applyResult,
  checksStopped,
  DEFAULTS,
  healthPolicy,
  nextCheckDelay,
  startedRun,
  type HealthPolicy,
} from '../../src/containers/health-state.ts';
import type { HealthState } from '../../src/model/index.ts';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

interface Step {
  /** When the check started and ended, in ms after the container started. */
  at: number;
  ended: number;
  status: HealthState['status'];
  streak: number;
}

/** Runs one check per exit code in `exits` (each taking `takesMs`) and says when each ran and what followed. */
function simulate(policy: HealthPolicy, exits: number[], takesMs = 100, from: HealthState = startedRun(null)): { steps: Step[]; state: HealthState } {
  let state = from;
  let now = T0;
  const steps: Step[] = [];
  for (const exit_code of exits) {
    now += nextCheckDelay(policy, state, now, T0);
    const start = now;
    now += takesMs;
    state = applyResult(state, { start: iso(start), end: iso(now), exit_code, output: '' }, policy, T0);
    steps.push({ at: start - T0, ended: now - T0, status: state.status, streak: state.failing_streak });
  }
  return { steps, state };
}

const policy = (p: Partial<HealthPolicy> = {}): HealthPolicy => ({ argv: ['check'], ...DEFAULTS, ...p });

describe('health state machine (fake clock)', () => {
  it('is starting until the first pass, then healthy; checks come an interval after the previous one ended', () => {
    const { steps } = simulate(policy({ intervalMs: 1000 }), [1, 0, 0]);
    assert.deepEqual(
      steps.map((s) => [s.at, s.status, s.streak]),
      [
        [1000, 'starting', 1],
        [2100, 'healthy', 0],
        [3200, 'healthy', 0],
      ],
    );
  });

  it('is unhealthy after exactly `retries` failures in a row; a pass resets the streak; the log keeps the last 5', () => {
    const { steps, state } = simulate(policy({ intervalMs: 1000, retries: 3 }), [0, 1, 2, 1, 1, 0, 1]);
    assert.deepEqual(
      steps.map((s) => [s.status, s.streak]),
      [
        ['healthy', 0],
        ['healthy', 1],
        ['healthy', 2],
        ['unhealthy', 3],
        ['unhealthy', 4],
        ['healthy', 0],
        ['healthy', 1],
      ],
    );
    assert.deepEqual(state.log.map((r) => r.exit_code), [2, 1, 1, 0, 1]);
  });

  it('does not count failures in the start period before the first pass, and checks every start interval there', () => {
    const p = policy({ intervalMs: 10_000, startPeriodMs: 5_000, startIntervalMs: 1_000, retries: 2 });
    const { steps } = simulate(p, [1, 1, 1, 1, 1, 1, 1], 100);
    assert.deepEqual(
      steps.map((s) => [s.at, s.status, s.streak]),
      [
        [1000, 'starting', 0],
        [2100, 'starting', 0],
        [3200, 'starting', 0],
        [4300, 'starting', 0],
        // starts at 5400: out of the start period, counted; the next waits the full interval
        [5400, 'starting', 1],
        [15500, 'unhealthy', 2],
        [25600, 'unhealthy', 3],
      ],
    );
  });

  it('a pass ends the start period: the interval applies and failures count at once', () => {
    const p = policy({ intervalMs: 2_000, startPeriodMs: 60_000, startIntervalMs: 500, retries: 2 });
    const { steps } = simulate(p, [1, 0, 1, 1], 100);
    assert.deepEqual(
      steps.map((s) => [s.at, s.status, s.streak]),
      [
        [500, 'starting', 0],
        [1100, 'healthy', 0],
        [3200, 'healthy', 1],
        [5300, 'unhealthy', 2],
      ],
    );
  });

  it('a check that started inside the start period does not count even if it ends after it', () => {
    const p = policy({ intervalMs: 1_000, startPeriodMs: 1_500, startIntervalMs: 1_000, retries: 1 });
    const { steps } = simulate(p, [1, 1], 2_000);
    assert.deepEqual(steps.map((s) => [s.at, s.status, s.streak]), [[1000, 'starting', 0], [4000, 'unhealthy', 1]]);
  });

  it('a new run starts over (starting, no streak) and keeps the log; stopped checks read unhealthy', () => {
    const { state } = simulate(policy({ retries: 1 }), [1]);
    assert.equal(state.status, 'unhealthy');
    const again = startedRun(state);
    assert.deepEqual([again.status, again.failing_streak, again.log.length], ['starting', 0, 1]);
    assert.deepEqual(checksStopped({ status: 'healthy', failing_streak: 0, log: [] }), { status: 'unhealthy', failing_streak: 0, log: [] });
  });
});

describe('health policy: the image and the request merged as Docker merges them', () => {
  const image = { test: ['CMD', 'probe', '--fast'], intervalNs: 2e9, timeoutNs: 0, startPeriodNs: 4e9, startIntervalNs: 0, retries: 5 };

  it("takes the image's check with Docker's defaults for what it leaves at 0", () => {
    assert.deepEqual(healthPolicy(image, null), {
      argv: ['probe', '--fast'],
      intervalMs: 2000,
      timeoutMs: 30_000,
      retries: 5,
      startPeriodMs: 4000,
      startIntervalMs: 5000,
    });
  });

  it('lets each request field override the image', () => {
    const p = healthPolicy(image, { interval_s: 0.5, retries: 1 });
    assert.deepEqual([p?.argv, p?.intervalMs, p?.timeoutMs, p?.retries, p?.startPeriodMs], [['probe', '--fast'], 500, 30_000, 1, 4000]);
    assert.deepEqual(healthPolicy(image, { test: ['CMD-SHELL', 'exit 0'] })?.argv, ['/bin/sh', '-c', 'exit 0']);
    assert.deepEqual(healthPolicy(undefined, { test: ['CMD-SHELL', 'exit 0'] }, ['/bin/bash', '-ec'])?.argv, ['/bin/bash', '-ec', 'exit 0']);
  });

  it('has no check for NONE, no test, no command or an unknown kind', () => {
    assert.equal(healthPolicy(image, { test: ['NONE'] }), null);
    assert.equal(healthPolicy({ ...image, test: ['NONE'] }, { interval_s: 1 }), null);
    assert.equal(healthPolicy(undefined, { interval_s: 1 }), null);
    assert.equal(healthPolicy(undefined, null), null);
    assert.equal(healthPolicy({ ...image, test: ['CMD'] }, null), null);
    assert.equal(healthPolicy({ ...image, test: ['BOGUS', 'x'] }, null), null);
    assert.deepEqual(healthPolicy(undefined, { test: ['CMD', 'true'] })?.retries, 3);
  });
});

describe('health check output and messages', () => {
  it('keeps 4096 bytes and marks the rest with ...', () => {
    const out = new CappedOutput();
    out.add(Buffer.alloc(4000, 'a'));
    out.add(Buffer.alloc(200, 'b'));
    out.add(Buffer.from('c'));
    const text = out.text();
    assert.equal(text.length, MAX_OUTPUT_BYTES + 3);
    assert.ok(text.endsWith('b...'));
    const short = new CappedOutput();
    short.add(Buffer.from('fine\n'));
    assert.equal(short.text(), 'fine\n');
  });

  it("prints durations as Go does (Docker's timeout message)", () => {
    const table: Array<[number, string]> = [
      [1000, '1s'],
      [1500, '1.5s'],
      [30_000, '30s'],
      [500, '500ms'],
      [1.5, '1.5ms'],
      [0.25, '250µs'],
      [60_000, '1m0s'],
      [90_500, '1m30.5s'],
      [3_600_000, '1h0m0s'],
      [3_723_000, '1h2m3s'],
    ];
    for (const [ms, text] of table) assert.equal(goDuration(ms), text, `${ms} ms`);
  });
});
