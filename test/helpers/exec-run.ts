/** Running execs in a test VM: a long-lived container to exec into, and an exec's output gathered. */
import { createHash } from 'node:crypto';
import type { ExecSession, ExecSpec, ProcessExit, Sandbox } from '../../src/sandbox/sandbox.ts';
import { sandboxSpec } from './run-vm.ts';
import type { VmEnv } from './vm-env.ts';

/** Boots busybox running `script` as the main process, with the container's memory and CPUs; resolves once it has started. */
export async function runningContainer(
  env: VmEnv,
  image: string,
  script: string,
  resources: { memoryMib?: number; cpus?: number; capabilities?: number } = {},
): Promise<Sandbox> {
  const sandbox = await env.launcher.launch(sandboxSpec({ image, config: { cmd: ['/bin/sh', '-c', script] }, ...resources }));
  await new Promise<void>((resolve, reject) => {
    sandbox.once('started', () => resolve());
    sandbox.once('gone', ({ reason }) => reject(new Error(reason)));
  });
  return sandbox;
}

export async function ending(sandbox: Sandbox): Promise<void> {
  await sandbox.stop({ signal: 9, graceMs: 0 });
  await sandbox.release();
}

export const execSpec = (argv: string[], more: Partial<ExecSpec> = {}): ExecSpec => ({ argv, env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '', user: '', tty: false, stdin: false, ...more });

export interface ExecResult {
  exit: ProcessExit | null;
  stdout: Buffer;
  stderr: Buffer;
  errors: string[];
  pid: number | null;
}

/** Gathers an exec's output, errors and exit from the moment it is called. */
export function gather(session: ExecSession): Promise<ExecResult> & { text(): string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const errors: string[] = [];
  let pid: number | null = null;
  session.on('started', (s) => (pid = s.pid));
  session.on('output', (c) => (c.stream === 'stdout' ? out : err).push(c.data));
  session.on('error', (e) => errors.push(e.message));
  const done = session.wait().then((exit) => ({ exit, stdout: Buffer.concat(out), stderr: Buffer.concat(err), errors, pid }));
  return Object.assign(done, { text: () => Buffer.concat(out).toString('utf8') });
}

export async function execToEnd(sandbox: Sandbox, spec: ExecSpec, stdin?: Buffer): Promise<ExecResult> {
  const session = await sandbox.exec(spec);
  const result = gather(session);
  if (stdin) {
    session.write(stdin);
    session.end();
  }
  return result;
}

/** Resolves when the text gathered so far matches; rejects after `guardMs` (a hang guard, not a timing check). */
export async function until(text: () => string, pattern: RegExp, guardMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + guardMs;
  for (;;) {
    const m = text().match(pattern);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output: ${JSON.stringify(text().slice(-500))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
