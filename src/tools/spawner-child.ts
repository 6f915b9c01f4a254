/**
 * The program spawner's own process (see ./spawner.ts): runs each program it is sent, answers with its output
 * and exit, and ends when the manager does (its IPC channel closes).
 * @module
 */
import { spawn } from 'node:child_process';
import type { SpawnAnswer, SpawnRequest } from './spawn-request.ts';

function run(req: SpawnRequest): void {
  const answer = (a: Omit<SpawnAnswer, 'id'>) => process.send?.({ id: req.id, ...a } satisfies SpawnAnswer);
  const child = spawn(req.program, req.args, { stdio: ['pipe', 'pipe', 'pipe'], env: req.env, cwd: req.cwd });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const timer = req.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), req.timeoutMs);
  child.on('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    answer({ stdout: '', stderr: '', code: null, signal: null, startError: { ...(e.code ? { code: e.code } : {}), message: e.message } });
  });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    answer({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal });
  });
  // A program that exits without reading its input closes the pipe under us: that is its business.
  child.stdin.on('error', () => undefined);
  child.stdin.end(req.input === undefined ? undefined : Buffer.from(req.input, 'base64'));
}

process.on('message', (req: SpawnRequest) => run(req));
process.on('disconnect', () => process.exit(0));
