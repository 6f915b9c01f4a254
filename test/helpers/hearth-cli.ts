/**
 * The compiled `hearth` command (dist/cli/hearth.js on plain Node, as a user runs it) pointed at one manager
 * through HEARTH_HOST, with no HEARTH_API_TOKEN or NODE_OPTIONS of the caller's. `buildCli` brings dist/ up to
 * date first (scripts/test.sh has built it already; run alone, a test file builds it itself).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { runProgram, succeeded, type ProgramResult } from './run-program.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const HEARTH_JS = path.join(ROOT, 'dist/cli/hearth.js');

export function buildCli(): void {
  const build = spawnSync(path.join(ROOT, 'scripts/build.sh'), ['--if-changed'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`scripts/build.sh failed:\n${build.stderr}`);
}

export type CliResult = ProgramResult;

export interface CliRunOptions {
  env?: Record<string, string>;
  input?: string;
  /** Kill it after this long (then `code` is null); default 120 s. */
  timeoutMs?: number;
}

export class HearthCli {
  constructor(readonly url: string) {}

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, HEARTH_HOST: this.url, ...extra };
    delete env.NODE_OPTIONS;
    delete env.HEARTH_PORT;
    if (!('HEARTH_API_TOKEN' in extra)) delete env.HEARTH_API_TOKEN;
    return env;
  }

  /** Runs `hearth ...args` to its end, stdin from `input` (closed at once without it). */
  run(args: string[], opts: CliRunOptions = {}): Promise<CliResult> {
    return runProgram(process.execPath, [HEARTH_JS, ...args], { ...opts, env: this.env(opts.env) });
  }

  /** Its stdout; throws with everything it printed unless it exits 0. */
  async ok(args: string[], opts: CliRunOptions = {}): Promise<string> {
    return succeeded(`hearth ${args.join(' ')}`, await this.run(args, opts)).stdout;
  }

  /**
   * Starts `hearth ...args`, which keeps running (a stream), and resolves with its stdout once `until` holds
   * for it; the CLI is then stopped (SIGTERM). Rejects if it exits or `timeoutMs` passes first.
   */
  streamUntil(args: string[], until: (stdout: string) => boolean, timeoutMs = 60_000): Promise<string> {
    const child = spawn(process.execPath, [HEARTH_JS, ...args], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`hearth ${args.join(' ')}: not seen in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, timeoutMs);
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (!until(stdout)) return;
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve(stdout);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`hearth ${args.join(' ')} exited ${code} first\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
    });
  }

  /**
   * A shell line run under a pseudo-terminal (`script`), where `hearth` names the compiled CLI: what a
   * person at a terminal gets. The terminal's output (stdout and stderr together) and the line's status.
   * `script` turns the end of `input` into a NUL byte typed on the terminal (util-linux 2.38): a process
   * that reads its terminal in raw mode gets it, and a guest's terminal may echo it as `^@`.
   */
  underPty(line: string, opts: { input?: string; timeoutMs?: number } = {}): CliResult {
    const shell = `hearth() { ${JSON.stringify(process.execPath)} ${JSON.stringify(HEARTH_JS)} "$@"; }; ${line}`;
    const r = spawnSync('script', ['-qec', shell, '/dev/null'], {
      env: this.env(),
      encoding: 'utf8',
      input: opts.input ?? '',
      timeout: opts.timeoutMs ?? 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
}
