/**
 * The QEMU `microvm` driver. Per VM, its run directory holds:
 *   vmm.json      pid, accel and name, for adoption by a later process
 *   qmp.sock      QMP (control of the VMM); its closing tells us QEMU is gone
 *   control.sock  the guest agent's virtio-serial port
 *   console.log   the guest's serial console;  qemu.log  QEMU's own messages
 */
import { openSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { HearthError } from '../../errors.ts';
import { spawnQemu } from '../../tools/qemu.ts';
import type { QemuMicrovm } from '../../tools/qemu.ts';
import type { Accel, VmConfig, VmmDriver, VmProcess } from '../driver.ts';
import { commandLine, isAlive, waitUntilGone } from '../process.ts';
import { QmpClient } from './qmp.ts';

export const CONTROL_PORT_NAME = 'hearth.control';

export interface QemuDriverOptions {
  accel: Accel;
  /** Kernel arguments every VM gets, before the caller's (clock, console, reboot behaviour). */
  baseKernelArgs: string[];
  /** How long QEMU may take to open its QMP socket. */
  startTimeoutMs?: number;
}

interface VmmRecord {
  pid: number;
  accel: Accel;
  name: string;
}

export class QemuDriver implements VmmDriver {
  readonly name = 'qemu' as const;

  constructor(private readonly options: QemuDriverOptions) {}

  async start(config: VmConfig): Promise<VmProcess> {
    const files = runFiles(config.runDir);
    const vm: QemuMicrovm = {
      name: `hearth-${config.id}`,
      accel: this.options.accel,
      vcpus: config.vcpus,
      memoryMib: config.memoryMib,
      kernel: config.kernelPath,
      initrd: config.initrdPath,
      append: [...this.options.baseKernelArgs, ...config.kernelArgs].join(' '),
      consoleLog: files.console,
      qmpSocket: files.qmp,
      drives: config.drives,
      nics: config.nics,
      serialPorts: [{ id: 'control', name: CONTROL_PORT_NAME, socket: files.control }],
    };
    const logFd = openSync(files.qemuLog, 'a');
    let child;
    try {
      child = spawnQemu(vm, logFd);
    } finally {
      closeSync(logFd);
    }
    const childExit = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `QEMU was killed by ${signal}` : `QEMU exited with ${code}`));
      child.once('error', (e) => resolve(`QEMU could not start: ${e.message}`));
    });
    const pid = child.pid;
    if (pid === undefined) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_START', `QEMU did not start: ${await childExit}`);
    }
    // Recorded before anything else can fail, so that whoever finds this run directory can end the VMM.
    const record: VmmRecord = { pid, accel: this.options.accel, name: vm.name };
    let qmp: QmpClient;
    try {
      await writeFile(files.vmm, JSON.stringify(record));
      qmp = await connectWhileRunning(files.qmp, childExit, this.options.startTimeoutMs ?? 10_000);
    } catch (e) {
      child.kill('SIGKILL');
      const log = await readFile(files.qemuLog, 'utf8').catch(() => '');
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_START', `QEMU did not start: ${(e as Error).message}${log ? `: ${log.trim()}` : ''}`, { cause: e });
    }
    return new QemuVm(config.id, record, files, qmp);
  }

  async adopt(runDir: string): Promise<VmProcess | undefined> {
    const files = runFiles(runDir);
    const record = await runningVmm(files);
    if (!record) return undefined;
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(files.qmp, QMP_TIMEOUT_MS);
    } catch (e) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_UNREACHABLE', `VM ${path.basename(runDir)} runs (pid ${record.pid}) but its QMP socket does not answer: ${(e as Error).message}`, { cause: e });
    }
    return new QemuVm(path.basename(runDir), record, files, qmp);
  }

  async destroy(runDir: string): Promise<void> {
    const record = await runningVmm(runFiles(runDir));
    if (record) await killVmm(record);
  }
}

/** QEMU answers QMP in milliseconds; one that does not within this is stuck (or stopped). */
const QMP_TIMEOUT_MS = 2_000;

/** The VMM recorded in the run directory, if that pid is still this VM's QEMU (not a recycled pid). */
async function runningVmm(files: RunFiles): Promise<VmmRecord | undefined> {
  let record: VmmRecord;
  try {
    record = JSON.parse(await readFile(files.vmm, 'utf8')) as VmmRecord;
  } catch {
    return undefined;
  }
  return (await isVmm(record)) ? record : undefined;
}

async function isVmm(record: VmmRecord): Promise<boolean> {
  return (await isAlive(record.pid)) && (await commandLine(record.pid)).includes(record.name);
}

async function killVmm(record: VmmRecord): Promise<void> {
  if (!(await isVmm(record))) return;
  try {
    process.kill(record.pid, 'SIGKILL');
  } catch {
    // Gone between the check and the kill.
  }
  await waitUntilGone(record.pid, 5_000);
}

type RunFiles = ReturnType<typeof runFiles>;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function runFiles(runDir: string) {
  return {
    vmm: path.join(runDir, 'vmm.json'),
    qmp: path.join(runDir, 'qmp.sock'),
    control: path.join(runDir, 'control.sock'),
    console: path.join(runDir, 'console.log'),
    qemuLog: path.join(runDir, 'qemu.log'),
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
  readonly pid: number;
  readonly accel: Accel;

  constructor(
    readonly id: string,
    private readonly record: VmmRecord,
    private readonly files: RunFiles,
    private readonly qmp: QmpClient,
  ) {
    this.pid = record.pid;
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
    if (!gone) await killVmm(this.record);
    await this.exited;
  }

  detach(): void {
    this.qmp.removeAllListeners('close');
    this.qmp.close();
  }
}
