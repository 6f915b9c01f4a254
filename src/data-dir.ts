/**
 * The data directory holds the database (every container's settings, env_vars included), container output
 * and the VMs' run directories with their control sockets: nobody but its owner has any business in it.
 * It is made 0700 when it is created and tightened to 0700 when it exists with a looser mode (an older
 * version made it only when new, and an operator may have made it by hand). One manager at a time uses it.
 * @module
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HearthError } from './errors.ts';

/** Creates `dir` if needed and makes it 0700; returns its mode before, if that was looser. */
export function prepareDataDir(dir: string): number | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const before = statSync(dir).mode & 0o7777;
  if (before === 0o700) return undefined;
  chmodSync(dir, 0o700);
  return before;
}

const LOCK_FILE = 'manager.pid';

/**
 * One manager per data directory: a second would recover the first's containers, sweep its VMs as orphans
 * and empty its image store's scratch space under it. The lock is a pid file made exclusively; one left by
 * a manager that died (kill -9) names a process that is gone, or not a manager, and is taken over.
 * FailedPrecondition (HEARTH_ERR_DATA_DIR_IN_USE) while the manager it names runs. Returns the release.
 */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readPid(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readPid(file);
    if (holder !== undefined && holder !== process.pid && isManager(holder)) {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_DATA_DIR_IN_USE',
        `another manager (pid ${holder}) uses the data directory ${dir}: stop it first, or give this one another HEARTH_DATA_DIR`,
      );
    }
    rmSync(file, { force: true });
  }
  throw new HearthError('FailedPrecondition', 'HEARTH_ERR_DATA_DIR_IN_USE', `could not lock the data directory ${dir} (${file} keeps coming back)`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A live Node process: a recycled pid now held by something else does not count. */
function isManager(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.includes('node');
  } catch {
    return false;
  }
}
