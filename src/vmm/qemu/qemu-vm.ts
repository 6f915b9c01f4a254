/**
 * One running QEMU seen through the driver's `VmProcess`: its QMP connection (whose closing says the VMM is
 * gone), the guest agent's control socket, and the way to end it.
 * @module
 */
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { HearthError } from '../../errors.ts';
import type { Accel, DiskIo, VmmUsage, VmProcess } from '../driver.ts';
import { cpuTimeOf, killAndWait, memoryOf, waitUntilGone } from '../process.ts';
import { delay, withDeadline } from './deadline.ts';
import type { QmpClient } from './qmp.ts';
import { saveVmState } from './vm-state.ts';
import type { RunFiles, VmmIdentity, VmmRecord } from './vmm-identity.ts';

/** The control channel's virtio-serial port (its device id and chardev id in QEMU's arguments). */
export const CONTROL_PORT_ID = 'control';
/** QEMU answers QMP in milliseconds; one that does not within this is stuck (or stopped). */
export const QMP_TIMEOUT_MS = 2_000;
/** After SIGKILL the kernel ends a process in milliseconds; one still there after this is stuck in the kernel. */
const KILL_WAIT_MS = 10_000;

export class QemuVm implements VmProcess {
  readonly exited: Promise<{ reason: string }>;
  readonly accel: Accel;
  paused: boolean;
  private readonly savableIn: string | undefined;
  private readonly opened: Promise<void>;

  constructor(
    readonly id: string,
    private readonly record: VmmRecord,
    readonly pid: number,
    private readonly files: RunFiles,
    private readonly qmp: QmpClient,
    private readonly identity: VmmIdentity,
    /**
     * `savableIn`: given only for a VM whose RAM is in a file (VmConfig.memoryFile), started by this process, so
     * that `saveState` makes a saved VM of it: the VMM's directory as QEMU sees it (inside its jail).
     */
    options: { paused?: boolean; savableIn?: string } = {},
  ) {
    this.paused = options.paused ?? false;
    this.savableIn = options.savableIn;
    this.opened = new Promise((resolve) => {
      const onEvent = (e: { event: string; data?: unknown }) => {
        const data = e.data as { id?: string; open?: boolean } | undefined;
        if (e.event !== 'VSERPORT_CHANGE' || data?.id !== CONTROL_PORT_ID || !data.open) return;
        qmp.off('event', onEvent);
        resolve();
      };
      qmp.on('event', onEvent);
    });
    this.accel = record.accel;
    this.exited = new Promise((resolve) => {
      qmp.once('close', () => {
        // QMP closes a moment before the process is fully gone; wait for that so callers can clean up.
        void waitUntilGone(this.pid, 5_000).then(() => resolve({ reason: 'the VMM exited' }));
      });
    });
  }

  connectControl(): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.files.control);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', (e) =>
        reject(new HearthError('Unavailable', 'HEARTH_ERR_CONTROL_CHANNEL', `cannot reach the guest agent of VM ${this.id}: ${e.message}`, { cause: e })),
      );
    });
  }

  /**
   * A polite QMP quit first; a QEMU that does not answer or does not go is killed, with every process that
   * is still this VM's VMM (by its tag, or jailed, by its uid). Bounded: a VMM that outlives SIGKILL is
   * HEARTH_ERR_VMM_STUCK rather than a wait forever.
   */
  async terminate(): Promise<void> {
    let gone = false;
    if (!this.qmp.closed) {
      await Promise.race([this.qmp.execute('quit').catch(() => undefined), delay(QMP_TIMEOUT_MS)]);
      gone = await waitUntilGone(this.pid, 2_000);
    }
    if (!gone) {
      const runDir = this.record.runDir ?? this.files.runDir;
      for (const pid of new Set([this.pid, ...(await this.identity.pidsOf(runDir, this.record))])) {
        if (await this.identity.isVmmOf(pid, runDir, this.record)) await killAndWait(pid);
      }
    }
    const ended = await Promise.race([this.exited.then(() => true), delay(KILL_WAIT_MS).then(() => false)]);
    if (!ended && !(await waitUntilGone(this.pid, 0))) {
      throw new HearthError('Internal', 'HEARTH_ERR_VMM_STUCK', `VM ${this.id}: its VMM (pid ${this.pid}) is still there ${KILL_WAIT_MS / 1000} s after SIGKILL`);
    }
  }

  /** QMP `stop`: the vCPU threads halt (QEMU's own threads stay, idle). */
  async pause(): Promise<void> {
    await this.control('stop');
    this.paused = true;
  }

  /** QMP `cont`. */
  async resume(): Promise<void> {
    await this.control('cont');
    this.paused = false;
  }

  controlOpened(): Promise<void> {
    return this.opened;
  }

  async saveState(file: string): Promise<void> {
    if (this.savableIn === undefined) {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_VMM_SAVE', `VM ${this.id}: only a VM started with its RAM in a file (memoryFile), by this process, can be saved`);
    }
    try {
      await saveVmState(this.qmp, this.files.saving, path.join(this.savableIn, path.basename(this.files.saving)), file, this.record.uid ?? 0);
      this.paused = true;
    } catch (e) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_SAVE', `VM ${this.id}: saving its state failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** /proc for the process (CPU time, smaps_rollup), QMP `query-blockstats` for the disks. */
  async usage(): Promise<VmmUsage> {
    const noAnswer = delay(QMP_TIMEOUT_MS).then(() => new Error(`no answer within ${QMP_TIMEOUT_MS} ms`));
    const [cpu, memory, blockstats] = await Promise.all([
      cpuTimeOf(this.pid),
      memoryOf(this.pid),
      Promise.race([this.qmp.execute('query-blockstats').catch((e: Error) => e), noAnswer]),
    ]);
    if (!cpu || !memory || this.qmp.closed) throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_GONE', `VM ${this.id}: its VMM (pid ${this.pid}) is gone`);
    if (blockstats instanceof Error) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_UNRESPONSIVE', `VM ${this.id}: QMP query-blockstats failed: ${blockstats.message}`, { cause: blockstats });
    }
    return { cpuUserNs: cpu.userNs, cpuSystemNs: cpu.systemNs, residentBytes: memory.rss, privateBytes: memory.private, disks: diskIo(blockstats) };
  }

  private async control(command: 'stop' | 'cont'): Promise<void> {
    try {
      await withDeadline(this.qmp.execute(command), QMP_TIMEOUT_MS, `QMP did not answer \`${command}\``);
    } catch (e) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_UNRESPONSIVE', `VM ${this.id}: ${command === 'stop' ? 'pausing' : 'resuming'} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  detach(): void {
    this.qmp.removeAllListeners('close');
    this.qmp.close();
  }
}

/** QMP `query-blockstats`' answer: one entry per drive, named by its `-drive id=` (`device`). */
export function diskIo(reply: unknown): DiskIo[] {
  const entries = Array.isArray(reply) ? (reply as Array<{ device?: string; stats?: Record<string, number> }>) : [];
  return entries
    .filter((e) => e.device && e.stats)
    .map((e) => ({
      id: e.device!,
      readBytes: e.stats!.rd_bytes ?? 0,
      writeBytes: e.stats!.wr_bytes ?? 0,
      readOps: e.stats!.rd_operations ?? 0,
      writeOps: e.stats!.wr_operations ?? 0,
      flushOps: e.stats!.flush_operations ?? 0,
    }));
}
