/**
 * The first step of recovery after a manager restart: whatever no record owns is removed, so nothing a
 * killed manager left half-made holds host resources or blocks a later start (VMs, taps, container
 * directories, volume disks). A VMM is ended whether or not
 * its run directory survived (it is found by its tag), and before its run directory goes.
 * @module
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaseLogger } from 'pino';
import { describeError } from '../errors.ts';
import type { ContainerStore } from '../store/container-store.ts';
import type { ContainerDeps } from './deps.ts';
import type { LogStore } from './log-store.ts';

/** Files a step writes under a temporary name and renames when complete; one left behind is a torn write. */
const PARTIAL = /\.partial$/;

export async function sweepOrphans(
  store: ContainerStore,
  deps: ContainerDeps,
  logs: LogStore,
  stateDir: string,
  log: BaseLogger,
): Promise<void> {
  const safely = async (what: string, context: object, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      log.error({ err: e, ...context }, `could not remove ${what}: ${describeError(e)}`);
    }
  };
  const containers = new Set((await store.listContainers()).map((c) => c.id));
  for (const id of logs.list()) {
    if (containers.has(id)) {
      for (const file of (await readdir(join(stateDir, id)).catch(() => [] as string[])).filter((f) => PARTIAL.test(f))) {
        await safely('a partial file', { container: id, file }, () => rm(join(stateDir, id, file), { force: true }));
      }
      continue;
    }
    await safely('an orphaned container directory', { container: id }, async () => {
      logs.remove(id); // the whole directory: logs and the writable layer
      log.info({ container: id }, 'removed the directory of a container that no longer exists');
    });
  }
  const vms = await store.listVms();
  const ownedVms = new Set(vms.map((v) => v.id));
  const ownedTaps = new Set(vms.map((v) => v.tap).filter((t): t is string => t !== null));
  for (const id of await deps.sandboxes.list()) {
    if (ownedVms.has(id)) continue;
    await safely('an orphaned VM', { vm: id }, async () => {
      await deps.sandboxes.purge(id);
      log.info({ vm: id }, 'removed a VM nobody owns');
    });
  }
  // Volumes: the anonymous ones of containers deleted by a manager that died half-way, disks no row names
  // (a crash between making a disk and recording it, or between forgetting it and removing it), half-made disks.
  const volumes = await store.volumes.list();
  for (const v of volumes.filter((r) => r.anonymous_for !== null && !containers.has(r.anonymous_for))) {
    await safely('an orphaned anonymous volume', { volume: v.name }, async () => {
      await store.volumes.delete(v.name);
      await deps.volumes.remove(v.name);
    });
  }
  const recorded = new Set(volumes.map((v) => v.name));
  const { disks, partial } = await deps.volumes.names();
  for (const name of disks.filter((d) => !recorded.has(d))) {
    await safely('a volume disk nobody owns', { volume: name }, async () => {
      await deps.volumes.remove(name);
      log.info({ volume: name }, 'removed a volume disk no volume record names');
    });
  }
  for (const file of partial) await safely('a half-made volume disk', { file }, () => deps.volumes.removePartial(file));
  for (const tap of await deps.network.listTaps()) {
    if (ownedTaps.has(tap)) continue;
    await safely('an orphaned tap', { tap }, async () => {
      await deps.network.deleteTap(tap);
      log.info({ tap }, 'deleted a tap nobody owns');
    });
  }
}
