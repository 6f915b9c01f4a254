/**
 * The one place that starts short-lived external programs. Each tool (mkfs.ext4, ip, nft, ...) has its own
 * module in this folder with typed arguments; they all call `runTool`, so failures read the same everywhere.
 */
import { spawn } from 'node:child_process';
import { HearthError } from '../errors.ts';

export interface ToolResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Bytes written to the program's standard input. */
  input?: string | Buffer;
  /** Kill the program and fail after this many milliseconds. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Exit codes that count as success besides 0. */
  okExitCodes?: number[];
}

export function runTool(program: string, args: readonly string[], options: RunOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const missing = e.code === 'ENOENT';
      reject(
        new HearthError(
          missing ? 'FailedPrecondition' : 'Internal',
          missing ? 'HEARTH_ERR_TOOL_MISSING' : 'HEARTH_ERR_TOOL_FAILED',
          missing ? `${program} is not installed (run scripts/setup.sh)` : `${program} could not start: ${e.message}`,
          { cause: e },
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) {
        resolve({ stdout, stderr });
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(
        new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', `${program} ${args.join(' ')} ${how}: ${stderr.trim()}`),
      );
    });
    child.stdin.end(options.input);
  });
}
