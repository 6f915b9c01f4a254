/**
 * What `SandboxLauncher` and `Sandbox` (src/sandbox/sandbox.ts) promise the containers layer, as one set of
 * cases that every implementation runs: the microVM launcher and the fake the containers tests use
 * (test/containers/fakes.ts). A case asks for a process by what it does; the subject says how, in its own
 * terms (real argv for busybox in a VM, the fake's script names).
 *
 * The containers layer relies on: events in order (started, output with stdout and stderr apart, exit) and
 * `wait()` with the same exit; `stop` giving a death by the signal asked for; `kill` ending the VM at once
 * and being safe once it is gone; an agent error and 127 for a process that cannot start; `release`
 * leaving nothing; `adopt` finding a detached VM still running and nothing for an id it does not know;
 * `purge` ending a VM that no sandbox object holds; `list` and `exitOf` reading what is on the host.
 * @module
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ProcessExit, Sandbox, SandboxInfo, SandboxLauncher, SandboxSpec } from '../../src/sandbox/sandbox.ts';

/** A process the case needs, by what it does. */
export type ProcessKind =
  /** Writes `stdout` + "\n" to stdout and `stderr` + "\n" to stderr, then exits with `code`. */
  | { kind: 'print-exit'; stdout: string; stderr: string; code: number }
  /** Runs until it is signalled, dying of any signal (no handler). */
  | { kind: 'sleep' }
  /** A command that does not exist in the image. */
  | { kind: 'missing' };

export interface SandboxSubject {
  launcher: SandboxLauncher;
  /** A spec with a fresh VM id whose process does what `p` says. */
  spec(p: ProcessKind): SandboxSpec;
  /** Whether the VM still runs, seen on the host rather than through the launcher (the VMM process). */
  running(info: SandboxInfo): Promise<boolean>;
  /** Whether the VM left anything on the host (its run directory). */
  leftBehind(id: string): Promise<boolean>;
  /** After the cases: ends and removes whatever a failed case left. */
  close(): Promise<void>;
}

const SIGINT = 2;
/** Long enough that a process which ignored the signal would be seen dying of SIGKILL (137), not of it. */
const GRACE_MS = 120_000;
/** Not a measurement: only so that a case whose event never comes fails instead of hanging the run. */
const CASE_TIMEOUT_MS = 300_000;

interface Recorded {
  /** Event names in order, a run of `output` events counted once. */
  order: string[];
  stdout: string;
  stderr: string;
  exits: ProcessExit[];
  agentErrors: string[];
  started: Promise<void>;
}

/** Listens to everything a sandbox reports, from the moment it is called (in the turn of launch/adopt). */
function record(sandbox: Sandbox): Recorded {
  const r: Recorded = { order: [], stdout: '', stderr: '', exits: [], agentErrors: [], started: new Promise((resolve) => sandbox.once('started', () => resolve())) };
  const note = (name: string) => {
    if (r.order.at(-1) !== name || name !== 'output') r.order.push(name);
  };
  sandbox.on('started', () => note('started'));
  sandbox.on('output', (chunk) => {
    note('output');
    if (chunk.stream === 'stdout') r.stdout += chunk.data.toString('utf8');
    else r.stderr += chunk.data.toString('utf8');
  });
  sandbox.on('agentError', (e) => {
    note('agentError');
    r.agentErrors.push(e.message);
  });
  sandbox.on('exit', (exit) => {
    note('exit');
    r.exits.push(exit);
  });
  sandbox.on('gone', () => note('gone'));
  return r;
}

export function sandboxLauncherContract(name: string, makeSubject: () => Promise<SandboxSubject>): void {
  const options = () => ({ timeout: CASE_TIMEOUT_MS });
  describe(`SandboxLauncher contract: ${name}`, () => {
    let s: SandboxSubject;
    before(async () => {
      s = await makeSubject();
    });
    after(async () => {
      await s?.close();
    });

    const listed = async (id: string) => (await s.launcher.list()).includes(id);

    /** Ends and removes what a failing case left (after a passing one there is nothing to do). */
    const cleanup = (id: string) => s.launcher.purge(id).catch(() => undefined);

    it('runs a process to its exit: started, output with stdout and stderr apart, exit; wait gives the exit; release leaves nothing', options(), async () => {
      const spec = s.spec({ kind: 'print-exit', stdout: 'to out', stderr: 'to err', code: 3 });
      const sandbox = await s.launcher.launch(spec);
      try {
        const r = record(sandbox);
        assert.equal(sandbox.info.id, spec.id);
        const exit = await sandbox.wait();
        assert.deepEqual(exit, { code: 3, signal: null });
        assert.deepEqual(r.exits, [exit], 'one exit event, the one wait() gives');
        assert.equal(r.stdout, 'to out\n');
        assert.equal(r.stderr, 'to err\n');
        assert.deepEqual(r.order, ['started', 'output', 'exit', 'gone']);
        assert.equal(await s.running(sandbox.info), false, 'wait() resolves once the VM is gone');
        assert.deepEqual(await s.launcher.exitOf(spec.id), exit, 'the exit is kept on the host until the VM is purged');
        assert.ok(await listed(spec.id), 'listed until released');
        await sandbox.kill(); // the containers layer kills before it releases, whether the VM ended or not
        await sandbox.release();
        assert.equal(await listed(spec.id), false, 'not listed once released');
        assert.equal(await s.leftBehind(spec.id), false, 'nothing left on the host');
        assert.equal(await s.launcher.exitOf(spec.id), null, 'the exit went with the run directory');
      } finally {
        await cleanup(spec.id);
      }
    });

    it('reports a command that cannot start as an agent error naming it and exit 127, never as started', options(), async () => {
      const spec = s.spec({ kind: 'missing' });
      const sandbox = await s.launcher.launch(spec);
      try {
        const r = record(sandbox);
        const exit = await sandbox.wait();
        assert.equal(exit?.code, 127);
        assert.equal(r.agentErrors.length, 1, `one agent error: ${JSON.stringify(r.agentErrors)}`);
        assert.ok(r.agentErrors[0]!.includes(spec.process.argv[0]!), `"${r.agentErrors[0]}" names ${spec.process.argv[0]}`);
        assert.deepEqual(r.order, ['agentError', 'exit', 'gone']);
        await sandbox.release();
        assert.equal(await s.leftBehind(spec.id), false);
      } finally {
        await cleanup(spec.id);
      }
    });

    it('stop({signal, graceMs}) ends a running process with 128+signal and resolves when the VM is gone', options(), async () => {
      const spec = s.spec({ kind: 'sleep' });
      const sandbox = await s.launcher.launch(spec);
      try {
        const r = record(sandbox);
        await r.started;
        assert.equal(await s.running(sandbox.info), true);
        await sandbox.stop({ signal: SIGINT, graceMs: GRACE_MS });
        assert.equal(await s.running(sandbox.info), false, 'stop resolves when the VM is gone');
        assert.deepEqual(await sandbox.wait(), { code: 128 + SIGINT, signal: SIGINT });
        assert.deepEqual(r.exits, [{ code: 128 + SIGINT, signal: SIGINT }]);
        await sandbox.release();
        assert.equal(await s.leftBehind(spec.id), false);
      } finally {
        await cleanup(spec.id);
      }
    });

    it('kill() ends the VM at once; wait() then resolves with no exit or 137', options(), async () => {
      const spec = s.spec({ kind: 'sleep' });
      const sandbox = await s.launcher.launch(spec);
      try {
        const r = record(sandbox);
        await r.started;
        await sandbox.kill();
        assert.equal(await s.running(sandbox.info), false, 'kill resolves when the VM is gone');
        const exit = await sandbox.wait();
        assert.ok(exit === null || exit.code === 137, `no exit or 137, not ${JSON.stringify(exit)}`);
        await sandbox.release();
        assert.equal(await listed(spec.id), false);
        assert.equal(await s.leftBehind(spec.id), false);
      } finally {
        await cleanup(spec.id);
      }
    });

    it('a detached VM keeps running; adopt(id) gives it back, still running, and signals reach its process', options(), async () => {
      const spec = s.spec({ kind: 'sleep' });
      const first = await s.launcher.launch(spec);
      try {
        await record(first).started;
        first.detach();
        assert.equal(await s.running(first.info), true, 'detach leaves the VM running');
        assert.ok(await listed(spec.id));
        const adopted = await s.launcher.adopt(spec.id);
        assert.ok(adopted, 'adopted');
        assert.equal(adopted.info.id, spec.id);
        assert.equal(adopted.info.pid, first.info.pid, 'the same VMM');
        const r = record(adopted);
        await adopted.signal(SIGINT);
        assert.deepEqual(await adopted.wait(), { code: 128 + SIGINT, signal: SIGINT }, 'the process it ran was still running, and died of the signal');
        assert.deepEqual(r.exits, [{ code: 128 + SIGINT, signal: SIGINT }], 'the adopter hears the exit');
        await adopted.release();
        assert.equal(await s.leftBehind(spec.id), false);
      } finally {
        await cleanup(spec.id);
      }
    });

    it('stop() called as soon as adopt resolves still gives the process its signal', options(), async () => {
      const spec = s.spec({ kind: 'sleep' });
      const first = await s.launcher.launch(spec);
      try {
        await record(first).started;
        first.detach();
        const adopted = await s.launcher.adopt(spec.id);
        assert.ok(adopted, 'adopted');
        await adopted.stop({ signal: SIGINT, graceMs: GRACE_MS });
        assert.deepEqual(await adopted.wait(), { code: 128 + SIGINT, signal: SIGINT }, 'a death by the signal, not the VM killed without one');
        await adopted.release();
      } finally {
        await cleanup(spec.id);
      }
    });

    it('purge(id) ends a running VM that no sandbox holds and removes what it left', options(), async () => {
      const spec = s.spec({ kind: 'sleep' });
      const sandbox = await s.launcher.launch(spec);
      try {
        await record(sandbox).started;
        sandbox.detach();
        assert.ok(await listed(spec.id), 'listed while it runs');
        await s.launcher.purge(spec.id);
        assert.equal(await s.running(sandbox.info), false, 'the VM is ended, not left holding its disks');
        assert.equal(await listed(spec.id), false, 'not listed once purged');
        assert.equal(await s.leftBehind(spec.id), false);
        assert.equal(await s.launcher.adopt(spec.id), undefined, 'nothing left to adopt');
      } finally {
        await cleanup(spec.id);
      }
    });

    it('knows nothing of an id it never launched: adopt gives undefined, exitOf null, purge does nothing', options(), async () => {
      const id = randomUUID();
      assert.equal(await s.launcher.adopt(id), undefined);
      assert.equal(await s.launcher.exitOf(id), null);
      await s.launcher.purge(id);
      assert.equal(await listed(id), false);
      assert.equal(await s.leftBehind(id), false);
    });
  });
}
