/**
 * The one place that starts short-lived external programs. Each tool (mkfs.ext4, ip, nft, ...) has its own
 * module in this folder with typed arguments; they all call `runTool`, so failures read the same everywhere.
 * The programs are started by a helper process (./spawner.ts), so that starting one never stalls the manager.
 */
import { HearthError } from '../errors.ts';
import { spawnViaHelper } from './spawner.ts';

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

export async function runTool(program: string, args: readonly string[], options: RunOptions = {}): Promise<ToolResult> {
  let answer;
  try {
    answer = await spawnViaHelper({
      program,
      args: [...args],
      env: { ...(options.env ?? process.env) },
      ...(options.input !== undefined ? { input: Buffer.from(options.input).toString('base64') } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
  } catch (e) {
    throw new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', `${program} could not start: ${(e as Error).message}`, { cause: e });
  }
  const { stdout, stderr, code, signal, startError } = answer;
  if (startError) {
    const missing = startError.code === 'ENOENT';
    throw new HearthError(
      missing ? 'FailedPrecondition' : 'Internal',
      missing ? 'HEARTH_ERR_TOOL_MISSING' : 'HEARTH_ERR_TOOL_FAILED',
      missing ? `${program} is not installed (run scripts/setup.sh)` : `${program} could not start: ${startError.message}`,
    );
  }
  if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) return { stdout, stderr };
  const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
  throw new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', `${program} ${args.join(' ')} ${how}: ${stderr.trim()}`);
}
