/**
 * How a VMM is recognised and found again, whatever a kill -9 left of its records:
 *   - `vmm.json` in its run directory names it (and, jailed, its uid) before it is spawned; its pid is added
 *     once the spawn returns;
 *   - every VMM carries its run directory in its environment (`HEARTH_VMM_RUN_DIR`), so it is found in /proc
 *     without any record; only processes of root or of the jail's uids count, since any local user can set
 *     that variable and none can take those uids;
 *   - a jailed VMM is also known by its uid, which is its own and which it cannot change: a VMM taken over
 *     by its guest may overwrite its environment, not its uid;
 *   - a VMM started before these tags existed (an upgrade) is known by the name and socket path on its
 *     command line, as it was then, and keeps its sockets where they were.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Accel } from '../driver.ts';
import { commandLine, environmentValue, isAlive, processesTagged, processUid } from '../process.ts';

/** The environment variable that tags a VMM with its run directory. */
export const RUN_DIR_TAG = 'HEARTH_VMM_RUN_DIR';

export interface VmmRecord {
  name: string;
  accel: Accel;
  /** Absent in records of VMMs started before the tag existed. */
  runDir?: string;
  jailed?: boolean;
  /** The jailed VMM's own uid; null when not jailed. */
  uid?: number | null;
  /** Null from just before the spawn until the spawn returned. */
  pid: number | null;
}

export type RunFiles = ReturnType<typeof runFiles>;

/** Where a VM's files are; a VMM started before `vmm/` existed has its sockets in the run directory itself. */
export function runFiles(runDir: string, legacy = false) {
  const vmmDir = legacy ? runDir : path.join(runDir, 'vmm');
  return {
    runDir,
    vmm: path.join(runDir, 'vmm.json'),
    qemuLog: path.join(runDir, 'qemu.log'),
    vmmDir,
    qmp: path.join(vmmDir, 'qmp.sock'),
    control: path.join(vmmDir, 'control.sock'),
    console: path.join(vmmDir, 'console.log'),
    /** Where the manager listens for the state QEMU saves (VmProcess.saveState). */
    saving: path.join(vmmDir, 'saving.sock'),
  };
}

export async function readRecord(runDir: string): Promise<VmmRecord | undefined> {
  try {
    return JSON.parse(await readFile(runFiles(runDir).vmm, 'utf8')) as VmmRecord;
  } catch {
    return undefined;
  }
}

export class VmmIdentity {
  /** `jailUids`: the range jailed VMMs run as (also when jailing is off now: they may have been started jailed). */
  constructor(private readonly jailUids: { base: number; count: number } | undefined) {}

  readonly isVmmUid = (uid: number): boolean => {
    const range = this.jailUids;
    return uid === 0 || (range !== undefined && uid >= range.base && uid < range.base + range.count);
  };

  /** Whether `pid` is still the VMM of `runDir` (not a recycled pid, not a stranger's process). */
  async isVmmOf(pid: number, runDir: string, record: VmmRecord | undefined): Promise<boolean> {
    if (!(await isAlive(pid))) return false;
    const uid = await processUid(pid);
    if (uid === null || !this.isVmmUid(uid)) return false;
    const tag = await environmentValue(pid, RUN_DIR_TAG);
    if (tag !== undefined) return tag === runDir;
    // No tag: erased by a VMM taken over by its guest (its uid says whose it is), or a VMM from before tags.
    if (record?.uid != null && uid === record.uid) return true;
    return record !== undefined && record.runDir === undefined && uid === 0 && (await commandLine(pid)).includes(record.name);
  }

  /** The VMM of a run directory, from its record or, without one, from /proc. */
  async find(runDir: string): Promise<{ record: VmmRecord; pid: number; legacy: boolean } | undefined> {
    const record = await readRecord(runDir);
    const legacy = record !== undefined && record.runDir === undefined;
    if (record?.pid && (await this.isVmmOf(record.pid, runDir, record))) return { record, pid: record.pid, legacy };
    const pids = await this.pidsOf(runDir, record);
    if (pids.length === 0) return undefined;
    const name = `hearth-${path.basename(runDir)}`;
    return { record: { name, accel: 'tcg', runDir, ...record, pid: pids[0]! }, pid: pids[0]!, legacy };
  }

  /**
   * Every process that is (or, jailed, may have become) the VMM of `runDir`: by its tag, by its uid, or as
   * an old VMM by its command line. Ending them all ends the VM, whatever it did to its records. One pass
   * over /proc: this runs on every release of a VM.
   */
  async pidsOf(runDir: string, record = undefined as VmmRecord | undefined): Promise<number[]> {
    const legacyQmp = `unix:${path.join(runDir, 'qmp.sock')}`;
    const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
    const matches = await Promise.all(
      pids.map(async (pid) => {
        const uid = await processUid(pid);
        if (uid === null || !this.isVmmUid(uid)) return false;
        const tag = await environmentValue(pid, RUN_DIR_TAG);
        if (tag !== undefined) return tag === runDir;
        if (record?.uid != null && uid === record.uid) return true;
        if (uid !== 0) return false;
        const argv = await commandLine(pid);
        return argv[0]?.includes('qemu') === true && argv.some((a) => a.startsWith(legacyQmp));
      }),
    );
    const found = pids.filter((_, i) => matches[i]);
    const alive = await Promise.all(found.map((pid) => isAlive(pid)));
    return found.filter((_, i) => alive[i]);
  }

  /** Every VMM started for a run directory under `vmsDir`. */
  async all(vmsDir: string): Promise<Array<{ runDir: string; pid: number }>> {
    const found = (await this.tagged(path.resolve(vmsDir) + path.sep)).map((p) => ({ runDir: p.value, pid: p.pid }));
    const known = new Set(found.map((f) => f.pid));
    return [...found, ...(await legacyVmms(vmsDir)).filter((v) => !known.has(v.pid))];
  }

  private async tagged(prefix: string): Promise<Array<{ pid: number; value: string }>> {
    const found = await processesTagged(RUN_DIR_TAG, prefix);
    const uids = await Promise.all(found.map((p) => processUid(p.pid)));
    return found.filter((_, i) => uids[i] !== null && this.isVmmUid(uids[i]!));
  }
}

/** VMMs started before the tag existed: root's QEMUs with a QMP socket in a run directory under `vmsDir`. */
async function legacyVmms(vmsDir: string): Promise<Array<{ runDir: string; pid: number }>> {
  const prefix = `unix:${path.resolve(vmsDir)}${path.sep}`;
  const out: Array<{ runDir: string; pid: number }> = [];
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const argv = await commandLine(pid);
      if (!argv[0]?.includes('qemu')) return;
      const qmp = argv.find((a) => a.startsWith(prefix) && a.includes(`${path.sep}qmp.sock`));
      if (qmp && (await processUid(pid)) === 0) out.push({ runDir: path.dirname(qmp.slice('unix:'.length).split(',')[0]!), pid });
    }),
  );
  return out;
}
