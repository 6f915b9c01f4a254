/**
 * Host directories shared into a QEMU guest over virtio-fs: one virtiofsd per directory (tools/virtiofsd.ts),
 * started as root before QEMU, its socket in the VM's `vmm/` directory, where a jailed QEMU finds it as its
 * own uid.
 *
 * Why virtio-fs and not QEMU's own virtio-9p: 9p is served by the VMM, and a jailed VMM runs as a uid of
 * its own with no capabilities, so a 9p share could only read what that uid may read (not a 0600 file of
 * the host's root) and write nowhere but in directories open to everyone, whoever the guest's user is.
 * virtiofsd runs as root outside the jail (confined by its own namespaces and seccomp), acts for the guest's
 * users as a Docker bind mount does, and enforces `readOnly` on the host (a read-only bind it cannot undo).
 *
 * Each virtiofsd carries the run directory in its environment (SHARE_TAG, as a VMM carries RUN_DIR_TAG), so
 * it is found and ended whatever happened to the records; it also ends by itself when its QEMU goes.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { chown, readFile } from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../../errors.ts';
import { locateVirtiofsd, spawnVirtiofsd, VIRTIOFSD_LISTENING } from '../../tools/virtiofsd.ts';
import type { ShareConfig } from '../driver.ts';
import { killAndWait, processesTagged, processUid } from '../process.ts';

/** The environment variable that tags a virtiofsd with its VM's run directory. */
export const SHARE_TAG = 'HEARTH_VIRTIOFSD_RUN_DIR';
const START_TIMEOUT_MS = 10_000;

/** A started share: its socket's name in the VM's `vmm/` directory. */
export interface StartedShare {
  id: string;
  socketName: string;
}

export class FileShares {
  private binary: Promise<string | undefined> | undefined;

  /**
   * Starts a virtiofsd for each share and resolves once all listen, their sockets owned by `owner` (the
   * jailed VMM's uid). On failure those already started are ended.
   */
  async start(runDir: string, vmmDir: string, shares: readonly ShareConfig[], owner?: number): Promise<StartedShare[]> {
    if (shares.length === 0) return [];
    const binary = await (this.binary ??= locateVirtiofsd());
    if (!binary) {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_VIRTIOFSD_MISSING',
        'sharing a host directory needs virtiofsd, which is not installed: apt-get install qemu-system-common (it is /usr/lib/qemu/virtiofsd)',
      );
    }
    try {
      return await Promise.all(shares.map((s) => this.startOne(binary, runDir, vmmDir, s, owner)));
    } catch (e) {
      await this.end(runDir);
      throw e;
    }
  }

  /** Ends every virtiofsd of `runDir`; false if one outlived SIGKILL. */
  async end(runDir: string): Promise<boolean> {
    const results = await Promise.all((await this.pidsOf(runDir)).map((pid) => killAndWait(pid)));
    return results.every(Boolean);
  }

  /** The virtiofsd processes of `runDir` (root's only: anyone may set an environment variable). */
  async pidsOf(runDir: string): Promise<number[]> {
    return (await this.tagged(path.resolve(runDir))).filter((p) => p.value === path.resolve(runDir)).map((p) => p.pid);
  }

  /** The run directories under `vmsDir` that have a virtiofsd. */
  async runDirsUnder(vmsDir: string): Promise<string[]> {
    return [...new Set((await this.tagged(path.resolve(vmsDir) + path.sep)).map((p) => p.value))];
  }

  private async tagged(prefix: string): Promise<Array<{ pid: number; value: string }>> {
    const found = await processesTagged(SHARE_TAG, prefix);
    const uids = await Promise.all(found.map((p) => processUid(p.pid)));
    return found.filter((_, i) => uids[i] === 0);
  }

  private async startOne(binary: string, runDir: string, vmmDir: string, share: ShareConfig, owner?: number): Promise<StartedShare> {
    const socketName = `${share.id}.sock`;
    const socket = path.join(vmmDir, socketName);
    const log = path.join(runDir, `virtiofsd-${share.id}.log`);
    const logFd = openSync(log, 'a');
    let child;
    try {
      child = spawnVirtiofsd({ binary, directory: share.path, socket, readOnly: share.readOnly }, logFd, { [SHARE_TAG]: path.resolve(runDir) });
    } finally {
      closeSync(logFd);
    }
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exited with ${code}`));
    child.once('error', (e) => (exited = `could not start: ${e.message}`));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const text = await readFile(log, 'utf8').catch(() => '');
      if (text.includes(VIRTIOFSD_LISTENING)) break;
      if (exited !== undefined || Date.now() > deadline) {
        throw new HearthError(
          'Unavailable',
          'HEARTH_ERR_SHARE_START',
          `sharing ${share.path} with the VM failed: virtiofsd ${exited ?? `did not listen within ${START_TIMEOUT_MS} ms`}${text ? `: ${text.trim().slice(-500)}` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (owner !== undefined) await chown(socket, owner, owner);
    return { id: share.id, socketName };
  }
}
