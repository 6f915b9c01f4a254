/**
 * One health check: the command run as an exec in the container (nobody attached, no exec events, not in
 * the container's exec table), its output kept up to 4096 bytes, its exit code; killed past the timeout, which
 * is then a failure with exit code -1 and Docker's message. As Docker, the timeout counts from the moment the
 * command started (starting it has its own, longer, bound); a check that could not run is exit -1 with why.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { describeError, isHearthError } from '../errors.ts';
import type { HealthResult } from '../model/index.ts';
import type { ExecSpec, Sandbox } from '../sandbox/sandbox.ts';
import { Exec } from './execs.ts';

/** Docker's cap on the output a result keeps; more is cut and marked with `...`. */
export const MAX_OUTPUT_BYTES = 4096;
/** How long starting the command may take before the check counts as failed (Docker's 30 s). */
export const START_TIMEOUT_MS = 30_000;
const SIGKILL = 9;

export interface Probe {
  /**
   * The result, as soon as it is known; null if the container's process or VM ended first (its run is over:
   * there is nothing to judge, and the state that follows says what happened).
   */
  result: Promise<HealthResult | null>;
  /** Resolves once the command is over in the guest (or its VM is gone): the next check waits for it. */
  settled: Promise<void>;
}

/** Runs the check `spec` in `sandbox`; `abort` kills it (its result is then nobody's). */
export function runProbe(sandbox: Sandbox, containerId: string, spec: ExecSpec, timeoutMs: number, abort: AbortSignal, startTimeoutMs = START_TIMEOUT_MS): Probe {
  const start = new Date().toISOString();
  const output = new CappedOutput();
  const exec = new Exec(randomBytes(16).toString('hex'), containerId, spec);
  exec.on('output', (chunk) => output.add(chunk.data));
  const finish = (exit_code: number, text: string): HealthResult => ({ start, end: new Date().toISOString(), exit_code, output: text });

  const started = exec.start(sandbox, { onStart: () => {}, onExit: () => {} });
  // Whenever it is asked for, the kill reaches the command once it has started (at once if it has).
  const kill = () => void started.then(() => exec.signal(SIGKILL), () => {});
  abort.addEventListener('abort', kill, { once: true });
  const settled = started.then(
    () => exec.done().then(() => {}),
    () => {},
  );
  void settled.finally(() => abort.removeEventListener('abort', kill));
  const result = (async (): Promise<HealthResult | null> => {
    let startTimer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (startTimer = setTimeout(() => resolve('late'), startTimeoutMs)));
    try {
      const first = await Promise.race([started.then(() => 'started' as const), late]);
      if (first === 'late') {
        kill(); // once it does start, so it cannot outlive its check
        return finish(-1, `timed out starting health check for container ${containerId}`);
      }
    } catch (e) {
      return isHearthError(e, 'HEARTH_ERR_CONTAINER_STATE') ? null : finish(-1, describeError(e));
    } finally {
      clearTimeout(startTimer);
    }
    if (exec.startError !== null) return finish(-1, exec.startError);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([exec.done(), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      kill();
      await exec.done(); // as Docker: a killed check is waited for, so dying checks never pile up
      const out = output.text();
      const limit = `Health check exceeded timeout (${goDuration(timeoutMs)})`;
      return finish(-1, out === '' ? limit : `${limit}: ${out}`);
    }
    if (outcome === null) return null;
    return finish(outcome, output.text());
  })();
  return { result, settled };
}

/** stdout and stderr as they come, up to MAX_OUTPUT_BYTES; `...` marks what was dropped. */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  add(data: Buffer): void {
    const keep = Math.min(MAX_OUTPUT_BYTES - this.size, data.length);
    if (keep > 0) {
      this.chunks.push(data.subarray(0, keep));
      this.size += keep;
    }
    if (keep < data.length) this.truncated = true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? '...' : '');
  }
}

/** A duration as Go prints one (`1s`, `1.5s`, `500ms`, `1m30s`, `1h0m0s`): Docker's timeout message has it. */
export function goDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const decimal = (n: number, unit: number) => {
    const whole = Math.floor(n / unit);
    const frac = String(n % unit).padStart(String(unit).length - 1, '0').replace(/0+$/, '');
    return frac ? `${whole}.${frac}` : String(whole);
  };
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${decimal(ns, 1e3)}µs`;
  if (ns < 1e9) return `${decimal(ns, 1e6)}ms`;
  const h = Math.floor(ns / 3.6e12);
  ns -= h * 3.6e12;
  const m = Math.floor(ns / 6e10);
  ns -= m * 6e10;
  return `${h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : ''}${decimal(ns, 1e9)}s`;
}
