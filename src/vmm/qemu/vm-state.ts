/**
 * A VM's state in a file, as QEMU's migration stream. QEMU runs jailed with `spawn=deny` (no `exec:` migration)
 * and in an empty network namespace, and 7.2 has no file migration: it saves by connecting to a unix socket the
 * manager listens on, and resumes from a descriptor it inherits (`-incoming defer`, then `migrate-incoming fd:`).
 *
 * Guest RAM does not travel in the stream: it is in a file (a memory backend QEMU maps shared, which the
 * `x-ignore-shared` capability leaves out), which resumed VMs map privately, copy-on-write. The stream holds
 * the devices' state of one moment, so any number of VMs can resume from the pair.
 * @module
 */
import { createWriteStream } from 'node:fs';
import { chmod, chown, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { delay, withDeadline } from './deadline.ts';
import type { QmpClient } from './qmp.ts';

/** How long saving a VM may take: its devices' state through a socket into a file (well under a second). */
const SAVE_TIMEOUT_MS = 60_000;
/** How long loading a saved state may take (its devices' state from a file). */
const LOAD_TIMEOUT_MS = 30_000;
const POLL_MS = 5;

/**
 * Stops the VM and has QEMU write its state to `file`: QEMU, running as `vmmUid`, connects to `hostSocket` (the
 * path it knows as `vmmSocket`) and streams; the file appears under its name only once QEMU says the migration
 * completed.
 */
export async function saveVmState(qmp: QmpClient, hostSocket: string, vmmSocket: string, file: string, vmmUid: number): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  await rm(hostSocket, { force: true });
  const server = net.createServer();
  const received = new Promise<void>((resolve, reject) => {
    server.once('connection', (socket) => {
      server.close();
      pipeline(socket, createWriteStream(partial)).then(resolve, reject);
    });
    server.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => server.listen(hostSocket, resolve).once('error', reject));
  try {
    // Only the VMM may connect (a jailed one runs as its own uid): no other process can feed the template.
    await chown(hostSocket, vmmUid, vmmUid);
    await chmod(hostSocket, 0o600);
    await qmp.execute('stop');
    await ignoreSharedRam(qmp);
    await qmp.execute('migrate', { uri: `unix:${vmmSocket}` });
    await withDeadline(received, SAVE_TIMEOUT_MS, 'QEMU did not send its state');
    await waitForMigration(qmp, SAVE_TIMEOUT_MS);
    await rename(partial, file);
  } finally {
    server.close();
    await rm(hostSocket, { force: true });
    await rm(partial, { force: true });
  }
}

/** Once the migration QEMU was asked for has completed; throws with QEMU's reason if it failed. */
function waitForMigration(qmp: QmpClient, timeoutMs: number): Promise<void> {
  return pollQmp(qmp, 'query-migrate', timeoutMs, 'saving did not complete', (info: { status?: string; 'error-desc'?: string }) => {
    if (info.status === 'failed' || info.status === 'cancelled') throw new Error(`saving failed: ${info['error-desc'] ?? info.status}`);
    return info.status === 'completed';
  });
}

/**
 * Has QEMU (started with `-incoming defer`) load the state from the descriptor `fd` it inherited; resolves
 * once it is loaded, throws if it failed to.
 */
export async function loadVmState(qmp: QmpClient, fd: number): Promise<void> {
  await ignoreSharedRam(qmp);
  await qmp.execute('migrate-incoming', { uri: `fd:${fd}` });
  await waitForLoad(qmp);
}

/** Both ends must agree: the stream then carries each RAM block's address in place of its pages. */
async function ignoreSharedRam(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
}

/** Resolves once QEMU has loaded the state it was sent (it leaves `inmigrate`); throws if it failed to. */
function waitForLoad(qmp: QmpClient): Promise<void> {
  return pollQmp(qmp, 'query-status', LOAD_TIMEOUT_MS, 'the saved state was not loaded', ({ status }: { status?: string }) => {
    if (status === 'inmigrate') return false;
    if (status === 'running' || status === 'paused' || status === 'prelaunch') return true;
    throw new Error(`the VM is ${status ?? 'in no state'} after loading its saved state`);
  });
}

/** Asks QEMU `command` every few ms until `done` says so (or throws), failing with `what` after `timeoutMs`. */
async function pollQmp<T>(qmp: QmpClient, command: string, timeoutMs: number, what: string, done: (answer: T) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done((await qmp.execute(command)) as T)) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await delay(POLL_MS);
  }
}
