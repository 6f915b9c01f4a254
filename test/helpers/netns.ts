/**
 * Network namespaces for tests, so nothing a test does touches the machine's own interfaces.
 *
 * A Node process cannot move itself into another namespace, so code under test runs in a child process
 * started with `ip netns exec NS node --import tsx SCRIPT` (an "agent"). The agent serves calls over its
 * stdin/stdout as JSON lines (`serveAgent` on the child side, `NodeAgent.call` on the parent side); a
 * HearthError thrown in the child is rethrown in the parent with the same kind and code.
 *
 * `withLab(fn)` gives a test fresh namespaces and agents and always removes them afterwards, then asserts
 * that no namespace of the test is left and no agent process is still running.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HearthError, type ErrorKind } from '../../src/errors.ts';
import { addNetns, deleteNetns, listNetns, netnsExecArgv, setLink } from '../../src/tools/ip.ts';

const CALL_TIMEOUT_MS = 20_000;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Creates `hearth-t-<random>` with its loopback up. */
export async function createNetns(): Promise<string> {
  const name = `hearth-t-${randomBytes(4).toString('hex')}`;
  await addNetns(name);
  await setLink('lo', { up: true }, { netns: name });
  return name;
}

// ---- parent side ----

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { kind?: ErrorKind; code?: `HEARTH_ERR_${string}`; message: string };
}

/** A node process running `script` inside a namespace, answering calls. */
export class NodeAgent {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  readonly exited: Promise<number | null>;

  constructor(readonly netns: string, script: string) {
    const [program, args] = netnsExecArgv(netns, [process.execPath, '--import', 'tsx', script]);
    this.#child = spawn(program, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    this.#child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`agent in ${netns} exited (${code ?? signal})`));
      this.#pending.clear();
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const reply = JSON.parse(line) as Reply;
      const p = this.#pending.get(reply.id);
      if (p === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else if (reply.error?.code !== undefined && reply.error.kind !== undefined) {
        p.reject(new HearthError(reply.error.kind, reply.error.code, reply.error.message));
      } else p.reject(new Error(reply.error?.message ?? 'agent call failed'));
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Calls `op` in the agent; a call that gets no answer within `CALL_TIMEOUT_MS` fails (so a hang fails the test). */
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`agent call ${op} in ${this.netns} got no answer in ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.#child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Ends the agent (it cleans up and exits when its stdin closes); SIGKILL after `graceMs`. */
  async close(graceMs = 5_000): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#child.exitCode;
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export interface Lab {
  /** A fresh namespace, deleted when the lab ends. */
  netns(): Promise<string>;
  /** An agent running `script` in `netns`, closed when the lab ends. */
  agent(netns: string, script: string): NodeAgent;
}

/** Runs `fn` with namespaces and agents it asks for; removes them all afterwards and checks none is left. */
export async function withLab<T>(fn: (lab: Lab) => Promise<T>): Promise<T> {
  const namespaces: string[] = [];
  const agents: NodeAgent[] = [];
  const lab: Lab = {
    async netns() {
      const name = await createNetns();
      namespaces.push(name);
      return name;
    },
    agent(netns, script) {
      const a = new NodeAgent(netns, script);
      agents.push(a);
      return a;
    },
  };
  let failed = false;
  try {
    return await fn(lab);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    const codes = await Promise.all(agents.map((a) => a.close()));
    for (const ns of namespaces) await deleteNetns(ns);
    const left = (await listNetns()).filter((n) => namespaces.includes(n));
    const stillRunning = agents.filter((a) => a.pid !== undefined && isRunning(a.pid)).map((a) => a.pid);
    if (!failed) {
      assert.deepEqual(left, [], 'namespaces left behind');
      assert.deepEqual(stillRunning, [], 'agent processes left behind');
      assert.deepEqual(codes, codes.map(() => 0), 'every agent exited cleanly');
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- child side ----

export type Handlers = Record<string, (...args: never[]) => unknown>;

/**
 * Serves `handlers` over stdin/stdout until stdin closes, then awaits `cleanup` and exits 0
 * (1 if cleanup fails).
 */
export function serveAgent(handlers: Handlers, cleanup: () => Promise<void>): void {
  const reply = (r: Reply): void => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: never[] };
    const handler = handlers[op];
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`no such agent op: ${op}`);
        reply({ id, ok: true, value: (await handler(...args)) ?? null });
      } catch (e) {
        const err = e instanceof HearthError ? { kind: e.kind, code: e.code, message: e.message } : { message: String(e) };
        reply({ id, ok: false, error: err });
      }
    })();
  });
  void once(lines, 'close').then(async () => {
    try {
      await cleanup();
      process.exit(0);
    } catch (e) {
      process.stderr.write(`agent cleanup failed: ${String(e)}\n`);
      process.exit(1);
    }
  });
}
