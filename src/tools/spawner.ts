/**
 * Short-lived programs are started by a small helper process rather than by the manager. Starting a program
 * forks the calling process and blocks its event loop until the child has exec'd: ~10 ms at the manager's
 * ~200 MB, 0.8 ms from a 45 MB process (measured with /bin/true). So the parts of a container's start that run
 * at once (its tap, its writable layer) each waited for the others' programs to start. The helper
 * (./spawner-child.ts) is started on first use, again if it dies, and ends with this process.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SpawnAnswer, SpawnRequest } from './spawn-request.ts';

/** Compiled (dist/) the helper is a .js beside this file; under a TypeScript loader (tests), the .ts. */
const CHILD = fileURLToPath(new URL(`./spawner-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

interface Helper {
  child: ChildProcess;
  pending: Map<number, { resolve: (a: SpawnAnswer) => void; reject: (e: Error) => void }>;
}

let helper: Helper | undefined;
let nextId = 1;

function start(): Helper {
  const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
  const started: Helper = { child, pending: new Map() };
  child.on('message', (a: SpawnAnswer) => started.pending.get(a.id)?.resolve(a));
  const gone = (why: string) => {
    if (helper === started) helper = undefined;
    for (const waiter of [...started.pending.values()]) waiter.reject(new Error(why));
  };
  child.on('exit', (code, signal) => gone(`the program spawner exited (${signal ?? code})`));
  child.on('error', (e) => gone(`the program spawner failed: ${e.message}`));
  // It must not keep this process alive; while a request waits, its pending promise is what does.
  child.unref();
  child.channel?.unref();
  return started;
}

/**
 * Runs one program through the helper; rejects only if the helper itself failed. A request the helper never
 * got (it had died unnoticed) is sent again to a new one; one it got is not (the program may have run).
 */
export async function spawnViaHelper(req: Omit<SpawnRequest, 'id'>): Promise<SpawnAnswer> {
  try {
    return await send(req);
  } catch (e) {
    if (!(e instanceof Unsent)) throw e;
    return send(req);
  }
}

class Unsent extends Error {}

function send(req: Omit<SpawnRequest, 'id'>): Promise<SpawnAnswer> {
  const h = helper && helper.child.connected ? helper : (helper = start());
  const id = nextId++;
  return new Promise((resolve, reject) => {
    // The channel is unref'd while nothing waits: a waiting request holds the event loop until its answer.
    const done = () => {
      h.pending.delete(id);
      if (h.pending.size === 0) h.child.channel?.unref();
    };
    h.pending.set(id, {
      resolve: (a) => (done(), resolve(a)),
      reject: (e) => (done(), reject(e)),
    });
    h.child.channel?.ref();
    const unsent = (e: Error) => {
      if (helper === h) helper = undefined;
      h.pending.get(id)?.reject(new Unsent(e.message));
    };
    try {
      h.child.send({ id, ...req } satisfies SpawnRequest, (e) => e && unsent(e));
    } catch (e) {
      unsent(e as Error);
    }
  });
}
