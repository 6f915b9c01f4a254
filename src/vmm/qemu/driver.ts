/**
 * The QEMU `microvm` driver. Per VM, its run directory holds:
 *   vmm.json      the VMM's identity (name, accel, jail, then pid): written before QEMU is spawned
 *   qemu.log      QEMU's own messages
 *   vmm/          what the VMM itself may write (owned by its uid when jailed):
 *     qmp.sock      QMP (control of the VMM); its closing tells us QEMU is gone
 *     control.sock  the guest agent's virtio-serial port
 *     console.log   the guest's serial console
 *   root/         where the jail is mounted, in the VMM's own mount namespace (empty from the host)
 *
 * Every VMM is spawned with `HEARTH_VMM_RUN_DIR=<run dir>` in its environment, so it can be found in /proc
 * whatever happened to its records: a manager killed between the spawn and writing the pid, or a run
 * directory deleted while its VMM ran, never leaves a VMM nobody can end.
 */
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { HearthError } from '../../errors.ts';
import { spawnQemu } from '../../tools/qemu.ts';
import type { QemuMicrovm, QemuSpawnOptions } from '../../tools/qemu.ts';
import type { Accel, VmConfig, VmmDriver, VmProcess, VmmFound } from '../driver.ts';
import type { VmmJail } from '../jail/vmm-jail.ts';
import { environmentValue, isAlive, processesTagged, processState, processUid, waitUntilGone } from '../process.ts';
import { QmpClient } from './qmp.ts';

export const CONTROL_PORT_NAME = 'hearth.control';
/** The environment variable that tags a VMM with its run directory. */
export const RUN_DIR_TAG = 'HEARTH_VMM_RUN_DIR';

export interface QemuDriverOptions {
  accel: Accel;
  /** Kernel arguments every VM gets, before the caller's (clock, console, reboot behaviour). */
  baseKernelArgs: string[];
  /** How long QEMU may take to open its QMP socket. */
  startTimeoutMs?: number;
  /** Confines every VMM (see jail/vmm-jail.ts); without it QEMU runs as root, unconfined. */
  jail?: VmmJail;
  /**
   * The uids jailed VMMs run as, also when jailing is off: VMMs a jailing manager started are still found
   * after a restart with jailing turned off.
   */
  jailUids?: { base: number; count: number };
}

interface VmmRecord {
  name: string;
  accel: Accel;
  runDir: string;
  jailed: boolean;
  /** Null from just before the spawn until the spawn returned. */
  pid: number | null;
}

export class QemuDriver implements VmmDriver {
  readonly name = 'qemu' as const;

  constructor(private readonly options: QemuDriverOptions) {}

  get jailed(): boolean {
    return this.options.jail !== undefined;
  }

  async start(config: VmConfig): Promise<VmProcess> {
    const runDir = path.resolve(config.runDir);
    const files = runFiles(runDir);
    await mkdir(files.vmmDir, { recursive: true, mode: 0o700 });
    const jail = this.options.jail;
    const prepared = jail
      ? await jail.prepare({
          id: config.id,
          runDir,
          vcpus: config.vcpus,
          memoryMib: config.memoryMib,
          kernel: config.kernelPath,
          initrd: config.initrdPath,
          drives: config.drives,
          taps: config.nics.map((n) => n.tap),
        })
      : undefined;
    // Paths as QEMU sees them: inside the jail, or the host's.
    const inVmm = (file: string) => path.join(prepared?.vmmDir ?? files.vmmDir, file);
    const vm: QemuMicrovm = {
      name: `hearth-${config.id}`,
      accel: this.options.accel,
      vcpus: config.vcpus,
      memoryMib: config.memoryMib,
      kernel: prepared?.kernel ?? config.kernelPath,
      initrd: prepared?.initrd ?? config.initrdPath,
      append: [...this.options.baseKernelArgs, ...config.kernelArgs].join(' '),
      consoleLog: inVmm(CONSOLE),
      qmpSocket: inVmm(QMP),
      drives: config.drives.map((d) => ({ ...d, path: prepared?.drivePath(d.id) ?? d.path })),
      nics: config.nics.map((n) => (prepared ? { ...n, fd: prepared.tapFd(n.tap) } : n)),
      serialPorts: [{ id: 'control', name: CONTROL_PORT_NAME, socket: inVmm(CONTROL) }],
      seccomp: prepared !== undefined,
    };
    const spawnOptions: QemuSpawnOptions = {
      env: { [RUN_DIR_TAG]: runDir },
      ...(prepared && jail ? { jail: { jailer: prepared.jailer, qemu: jail.qemuPath, spec: prepared.spec } } : {}),
    };
    const record: VmmRecord = { name: vm.name, accel: this.options.accel, runDir, jailed: !!prepared, pid: null };
    await writeFile(files.vmm, JSON.stringify(record));
    const logFd = openSync(files.qemuLog, 'a');
    let child;
    try {
      child = spawnQemu(vm, logFd, spawnOptions);
    } finally {
      closeSync(logFd);
    }
    const childExit = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `QEMU was killed by ${signal}` : `QEMU exited with ${code}`));
      child.once('error', (e) => resolve(`QEMU could not start: ${e.message}`));
    });
    const pid = child.pid;
    if (pid === undefined) {
      await this.releaseHost(config.id);
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_START', `QEMU did not start: ${await childExit}`);
    }
    record.pid = pid;
    let qmp: QmpClient;
    try {
      await writeFile(files.vmm, JSON.stringify(record));
      qmp = await connectWhileRunning(files.qmp, childExit, this.options.startTimeoutMs ?? 10_000);
    } catch (e) {
      child.kill('SIGKILL');
      await waitUntilGone(pid, 5_000);
      await this.releaseHost(config.id);
      const log = await readFile(files.qemuLog, 'utf8').catch(() => '');
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_START', `QEMU did not start: ${(e as Error).message}${log ? `: ${log.trim()}` : ''}`, { cause: e });
    }
    return new QemuVm(config.id, record, pid, files, qmp, this.isVmmUid);
  }

  async adopt(runDir: string): Promise<VmProcess | undefined> {
    const files = runFiles(path.resolve(runDir));
    const found = await this.findVmm(files);
    if (!found) return undefined;
    const { record, pid } = found;
    const id = path.basename(runDir);
    // A stopped process (SIGSTOP) accepts a connection but never answers it.
    if ((await processState(pid)) === 'T') {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_PAUSED', `VM ${id}: its VMM (pid ${pid}) is stopped by a signal`);
    }
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(files.qmp, QMP_TIMEOUT_MS);
    } catch (e) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_UNRESPONSIVE', `VM ${id} runs (pid ${pid}) but its QMP socket does not answer: ${(e as Error).message}`, { cause: e });
    }
    const status = await withDeadline(qmp.execute('query-status'), QMP_TIMEOUT_MS).catch(() => undefined);
    const state = (status as { status?: string } | undefined)?.status;
    if (state !== 'running') {
      qmp.close();
      const code = state === 'paused' ? 'HEARTH_ERR_VMM_PAUSED' : 'HEARTH_ERR_VMM_UNRESPONSIVE';
      throw new HearthError('Unavailable', code, `VM ${id}: its VMM (pid ${pid}) reports the guest ${state ?? 'in no state it will tell'}`);
    }
    return new QemuVm(id, record, pid, files, qmp, this.isVmmUid);
  }

  async destroy(runDir: string): Promise<void> {
    const resolved = path.resolve(runDir);
    const found = await this.findVmm(runFiles(resolved));
    const pids = found ? [found.pid] : (await this.tagged(resolved)).filter((p) => p.value === resolved).map((p) => p.pid);
    for (const pid of pids) await killTagged(pid, resolved, this.isVmmUid);
    await this.releaseHost(path.basename(resolved));
  }

  async findAll(vmsDir: string): Promise<VmmFound[]> {
    return (await this.tagged(path.resolve(vmsDir) + path.sep)).map((p) => ({ runDir: p.value, pid: p.pid }));
  }

  private readonly isVmmUid = (uid: number): boolean => {
    const range = this.options.jailUids;
    return uid === 0 || (range !== undefined && uid >= range.base && uid < range.base + range.count);
  };

  /** VMMs tagged with a run directory starting with `prefix`. */
  private async tagged(prefix: string): Promise<Array<{ pid: number; value: string }>> {
    const found = await processesTagged(RUN_DIR_TAG, prefix);
    const uids = await Promise.all(found.map((p) => processUid(p.pid)));
    return found.filter((_, i) => uids[i] !== null && this.isVmmUid(uids[i]!));
  }

  /** The VMM of a run directory: from its record when that has a pid, else by its tag in /proc. */
  private async findVmm(files: RunFiles): Promise<{ record: VmmRecord; pid: number } | undefined> {
    let record: VmmRecord | undefined;
    try {
      record = JSON.parse(await readFile(files.vmm, 'utf8')) as VmmRecord;
    } catch {
      record = undefined;
    }
    if (record?.pid && (await isTagged(record.pid, files.runDir, this.isVmmUid))) return { record, pid: record.pid };
    const tagged = (await this.tagged(files.runDir)).find((p) => p.value === files.runDir);
    if (!tagged) return undefined;
    const fallback: VmmRecord = record ?? { name: `hearth-${path.basename(files.runDir)}`, accel: this.options.accel, runDir: files.runDir, jailed: this.jailed, pid: null };
    return { record: { ...fallback, pid: tagged.pid }, pid: tagged.pid };
  }

  private async releaseHost(vmId: string): Promise<void> {
    await this.options.jail?.release(vmId);
  }
}

/** QEMU answers QMP in milliseconds; one that does not within this is stuck (or stopped). */
const QMP_TIMEOUT_MS = 2_000;
const QMP = 'qmp.sock';
const CONTROL = 'control.sock';
const CONSOLE = 'console.log';

async function isTagged(pid: number, runDir: string, isVmmUid: (uid: number) => boolean): Promise<boolean> {
  const uid = await processUid(pid);
  return uid !== null && isVmmUid(uid) && (await isAlive(pid)) && (await environmentValue(pid, RUN_DIR_TAG)) === runDir;
}

/** SIGKILL, if the pid is still the VMM of that run directory (not a recycled pid). */
async function killTagged(pid: number, runDir: string, isVmmUid: (uid: number) => boolean): Promise<void> {
  if (!(await isTagged(pid, runDir, isVmmUid))) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone between the check and the kill.
  }
  await waitUntilGone(pid, 5_000);
}

type RunFiles = ReturnType<typeof runFiles>;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, delay(ms).then(() => Promise.reject(new Error(`no answer within ${ms} ms`)))]);
}

function runFiles(runDir: string) {
  const vmmDir = path.join(runDir, 'vmm');
  return {
    runDir,
    vmm: path.join(runDir, 'vmm.json'),
    qemuLog: path.join(runDir, 'qemu.log'),
    vmmDir,
    qmp: path.join(vmmDir, QMP),
    control: path.join(vmmDir, CONTROL),
    console: path.join(vmmDir, CONSOLE),
  };
}

async function connectWhileRunning(socketPath: string, exited: Promise<string>, timeoutMs: number): Promise<QmpClient> {
  let gone: string | undefined;
  void exited.then((reason) => (gone = reason));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await QmpClient.connect(socketPath);
    } catch (e) {
      if (gone !== undefined) throw new Error(gone);
      if (Date.now() > deadline) throw new Error(`no QMP socket after ${timeoutMs} ms`, { cause: e });
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

class QemuVm implements VmProcess {
  readonly exited: Promise<{ reason: string }>;
  readonly accel: Accel;

  constructor(
    readonly id: string,
    private readonly record: VmmRecord,
    readonly pid: number,
    private readonly files: RunFiles,
    private readonly qmp: QmpClient,
    private readonly isVmmUid: (uid: number) => boolean,
  ) {
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

  /** A polite QMP quit first; a QEMU that does not answer or does not go is killed (if the pid is still its). */
  async terminate(): Promise<void> {
    let gone = false;
    if (!this.qmp.closed) {
      await Promise.race([this.qmp.execute('quit').catch(() => undefined), delay(QMP_TIMEOUT_MS)]);
      gone = await waitUntilGone(this.pid, 2_000);
    }
    if (!gone) await killTagged(this.pid, this.record.runDir, this.isVmmUid);
    await this.exited;
  }

  detach(): void {
    this.qmp.removeAllListeners('close');
    this.qmp.close();
  }
}
