/**
 * A command-line program run to its end, as the CLI helpers (docker, docker-compose, hearth) run theirs:
 * stdout and stderr collected, stdin given or closed at once, killed past a time limit (then `code` is null).
 */
import { spawn } from 'node:child_process';

export interface ProgramResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProgramOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Kill it after this long; default 120 s. */
  timeoutMs?: number;
}

export function runProgram(file: string, args: readonly string[], opts: ProgramOptions): Promise<ProgramResult> {
  const child = spawn(file, args, { env: opts.env, ...(opts.cwd ? { cwd: opts.cwd } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The result, or an error with everything the program printed unless it exited 0. */
export function succeeded(what: string, r: ProgramResult): ProgramResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
