/**
 * The QEMU `microvm` driver. Per VM, its run directory holds:
 *   vmm.json      the VMM's identity (name, accel, jail uid, then pid): written before QEMU is spawned
 *   qemu.log      QEMU's own messages
 *   vmm/          the VMM's sockets and console; jailed, the VMM creates them as its own uid, then the
 *                 directory is handed back to root before the guest runs, so a VMM taken over by its guest
 *                 cannot swap them for links to other sockets the manager would then talk to
 *     qmp.sock      QMP (control of the VMM); its closing tells us QEMU is gone
 *     control.sock  the guest agent's virtio-serial port
 *     console.log   the guest's serial console
 *     <share>.sock  with host directories shared: each one's virtiofsd (./file-shares.ts)
 *   virtiofsd-<share>.log  that virtiofsd's messages
 *   root/         where the jail is mounted, in the VMM's own mount namespace (empty from the host)
 * How a VMM is found again whatever happened to these records: ./vmm-identity.ts.
 */
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../../errors.ts';
import { locateQemu, qemuArgv, spawnQemu } from '../../tools/qemu.ts';
import type { QemuMicrovm, QemuSpawnOptions } from '../../tools/qemu.ts';
import type { Accel, SavedVm, VmConfig, VmmDriver, VmmFound, VmProcess } from '../driver.ts';
import type { VmCgroups } from '../jail/cgroups.ts';
import type { VmmJail } from '../jail/vmm-jail.ts';
import { killAndWait, processState } from '../process.ts';
import { RamSeals } from '../ram-seals.ts';
import { FileShares } from './file-shares.ts';
import { withDeadline } from './deadline.ts';
import { CONTROL_PORT_ID, QemuVm, QMP_TIMEOUT_MS } from './qemu-vm.ts';
import { QmpClient } from './qmp.ts';
import { loadVmState } from './vm-state.ts';
import { RUN_DIR_TAG, VmmIdentity, runFiles, type VmmRecord } from './vmm-identity.ts';

export const CONTROL_PORT_NAME = 'hearth.control';
export { RUN_DIR_TAG } from './vmm-identity.ts';

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
  /** The host's per-VM cgroups, removed with each VM (and found for the sweep) even when jailing is off. */
  cgroups?: VmCgroups;
  /** hearth-ramseal (tools/ramseal.ts): VMs resume from sealed copies of their template's RAM. Without it, none resumes. */
  ramSeal?: string;
}

export class QemuDriver implements VmmDriver {
  readonly name = 'qemu' as const;
  private readonly identity: VmmIdentity;
  private readonly shares = new FileShares();
  private readonly ramSeals: RamSeals | undefined;

  constructor(private readonly options: QemuDriverOptions) {
    this.identity = new VmmIdentity(options.jailUids);
    this.ramSeals = options.ramSeal !== undefined ? new RamSeals(options.ramSeal) : undefined;
  }

  async start(config: VmConfig): Promise<VmProcess> {
    const runDir = path.resolve(config.runDir);
    const files = runFiles(runDir);
    await mkdir(files.vmmDir, { recursive: true, mode: 0o700 });
    if (config.memoryFile !== undefined) {
      // Its RAM would be elsewhere (a memfd its directories' servers map, the template's), and saving it lost.
      if ((config.shares ?? []).length > 0 || config.restoreFrom) {
        throw new HearthError('Internal', 'HEARTH_ERR_INTERNAL', `VM ${config.id}: a memoryFile goes with neither shared directories nor a restore`);
      }
      await writeFile(config.memoryFile, '');
      await truncate(config.memoryFile, config.memoryMib * 2 ** 20);
    }
    const restore = config.restoreFrom ? await this.sealedRestore(config.restoreFrom, config.memoryMib) : undefined;
    const jail = this.options.jail;
    const prepared = jail
      ? await jail.prepare({
          id: config.id,
          runDir,
          vcpus: config.vcpus,
          ...(config.cpus !== undefined ? { cpus: config.cpus } : {}),
          memoryMib: config.memoryMib,
          kernel: config.kernelPath,
          initrd: config.initrdPath,
          drives: config.drives,
          taps: config.nics.flatMap((n) => (n.tap === undefined ? [] : [n.tap])),
          ...(config.memoryFile !== undefined ? { memoryFile: config.memoryFile } : {}),
          ...(restore ? { restoreFrom: restore } : {}),
        })
      : undefined;
    // Paths as QEMU sees them: inside the jail, or the host's.
    const inVmm = (file: string) => path.join(prepared?.vmmDir ?? files.vmmDir, path.basename(file));
    let shares;
    try {
      shares = await this.shares.start(runDir, files.vmmDir, config.shares ?? [], prepared?.spec.uid);
    } catch (e) {
      await this.releaseHost(config.id);
      throw e;
    }
    const vm: QemuMicrovm = {
      name: `hearth-${config.id}`,
      accel: this.options.accel,
      vcpus: config.vcpus,
      memoryMib: config.memoryMib,
      kernel: prepared?.kernel ?? config.kernelPath,
      initrd: prepared?.initrd ?? config.initrdPath,
      append: [...this.options.baseKernelArgs, ...config.kernelArgs].join(' '),
      consoleLog: inVmm(files.console),
      qmpSocket: inVmm(files.qmp),
      drives: config.drives.map((d) => ({ ...d, path: prepared?.drivePath(d.id) ?? d.path })),
      nics: config.nics.map((n) => (prepared && n.tap !== undefined ? { ...n, fd: prepared.tapFd(n.tap) } : n)),
      serialPorts: [{ id: CONTROL_PORT_ID, name: CONTROL_PORT_NAME, socket: inVmm(files.control) }],
      fileShares: shares.map((f) => ({ id: f.id, socket: inVmm(f.socketName), tag: f.id })),
      seccomp: prepared !== undefined,
      // Jailed, the guest waits until the socket directory is handed back to root (see the top of this file).
      paused: prepared !== undefined,
      ...(restore ? { incoming: true, memory: { path: prepared?.memoryPath ?? restore.memory, shared: false } } : {}),
      ...(config.memoryFile !== undefined ? { memory: { path: prepared?.memoryPath ?? config.memoryFile, shared: true } } : {}),
    };
    const spawnOptions: QemuSpawnOptions = {
      env: { [RUN_DIR_TAG]: runDir },
      ...(prepared && jail ? { jail: { jailer: prepared.jailer, qemu: jail.qemuPath, spec: prepared.spec } } : {}),
    };
    const record: VmmRecord = { name: vm.name, accel: this.options.accel, runDir, jailed: !!prepared, uid: prepared?.spec.uid ?? null, pid: null };
    await writeFile(files.vmm, JSON.stringify(record));
    const logFd = openSync(files.qemuLog, 'a');
    // Unjailed, the state is the first descriptor QEMU inherits (3); jailed, the jailer opens it.
    const stateFd = restore && !prepared ? openSync(restore.state, 'r') : undefined;
    let child;
    try {
      child = spawnQemu(vm, logFd, { ...spawnOptions, ...(stateFd !== undefined ? { inherit: [stateFd] } : {}) });
    } finally {
      closeSync(logFd);
      if (stateFd !== undefined) closeSync(stateFd);
    }
    const childExit = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `QEMU was killed by ${signal}` : `QEMU exited with ${code}`));
      child.once('error', (e) => resolve(`QEMU could not start: ${e.message}`));
    });
    const pid = child.pid;
    if (pid === undefined) {
      await this.shares.end(runDir);
      await this.releaseHost(config.id);
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_START', `QEMU did not start: ${await childExit}`);
    }
    record.pid = pid;
    let qmp: QmpClient;
    try {
      await writeFile(files.vmm, JSON.stringify(record));
      qmp = await connectWhileRunning(files.qmp, childExit, this.options.startTimeoutMs ?? 10_000);
      if (restore) await loadVmState(qmp, prepared?.stateFd ?? 3);
      if (prepared) {
        await chown(files.vmmDir, 0, 0);
        await chmod(files.vmmDir, 0o755);
      }
      // A resumed VM is paused as it was saved (QEMU restores the saved run state, whatever -S says).
      if (prepared || restore) await withDeadline(qmp.execute('cont'), QMP_TIMEOUT_MS);
    } catch (e) {
      await killAndWait(pid);
      await this.shares.end(runDir);
      await this.releaseHost(config.id);
      const log = await readFile(files.qemuLog, 'utf8').catch(() => '');
      const [code, what] = restore ? (['HEARTH_ERR_VMM_RESTORE', 'QEMU did not resume the saved VM'] as const) : (['HEARTH_ERR_VMM_START', 'QEMU did not start'] as const);
      throw new HearthError('Unavailable', code, `${what}: ${(e as Error).message}${log ? `: ${log.trim()}` : ''}`, { cause: e });
    }
    return new QemuVm(config.id, record, pid, files, qmp, this.identity, config.memoryFile !== undefined ? { savableIn: prepared?.vmmDir ?? files.vmmDir } : {});
  }

  /** The saved VM with its RAM as a sealed copy (see ../ram-seals.ts) in place of the file. */
  private async sealedRestore(saved: SavedVm, memoryMib: number): Promise<SavedVm> {
    // A RAM file that is missing or of another size is the saved VM's fault (HEARTH_ERR_VMM_RESTORE discards it).
    const size = await stat(saved.memory).then((st) => (st.isFile() ? st.size : -1), () => -1);
    if (size !== memoryMib * 2 ** 20) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_RESTORE', `the saved VM's RAM ${saved.memory} is ${size < 0 ? 'missing' : `${size} bytes`}, not the VM's ${memoryMib} MiB`);
    }
    try {
      if (!this.ramSeals) throw new Error('this driver was set up without hearth-ramseal');
      return { state: saved.state, memory: await this.ramSeals.pathOf(saved.memory) };
    } catch (e) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_RAM_COPY', `no sealed copy of the saved VM's RAM (${saved.memory}): ${(e as Error).message}`, { cause: e });
    }
  }

  forgetSaved(saved: SavedVm): void {
    this.ramSeals?.forget(saved.memory);
  }

  /**
   * The binary, the accelerator, the kernel arguments, jailing, and the arguments QEMU is given for a sample VM
   * (so a change in how devices are configured is a change of inputs, without anyone remembering to say so).
   */
  async stateInputs(): Promise<string> {
    const binary = await locateQemu();
    const { size, mtimeMs, ino } = await stat(binary);
    const sample = qemuArgv({
      name: 'sample',
      accel: this.options.accel,
      vcpus: 1,
      memoryMib: 128,
      kernel: 'k',
      initrd: 'i',
      append: this.options.baseKernelArgs.join(' '),
      consoleLog: 'c',
      qmpSocket: 'q',
      drives: [{ id: 'd', path: 'p', readOnly: true, serial: 'd' }],
      nics: [{ id: 'n', mac: '02:00:00:00:00:01', fd: 3 }],
      serialPorts: [{ id: CONTROL_PORT_ID, name: CONTROL_PORT_NAME, socket: 's' }],
      seccomp: !!this.options.jail,
      paused: true,
      incoming: true,
      memory: { path: 'm', shared: false },
    });
    return JSON.stringify({ vmm: 'qemu', binary, size, mtimeMs, ino, accel: this.options.accel, jailed: !!this.options.jail, sample });
  }

  async adopt(runDir: string, options: { acceptPaused?: boolean } = {}): Promise<VmProcess | undefined> {
    const resolved = path.resolve(runDir);
    const found = await this.identity.find(resolved);
    if (!found) return undefined;
    const { record, pid, legacy } = found;
    const files = runFiles(resolved, legacy);
    const id = path.basename(resolved);
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
    if (state === 'paused' && options.acceptPaused) return new QemuVm(id, record, pid, files, qmp, this.identity, { paused: true });
    if (state !== 'running') {
      qmp.close();
      const code = state === 'paused' ? 'HEARTH_ERR_VMM_PAUSED' : 'HEARTH_ERR_VMM_UNRESPONSIVE';
      throw new HearthError('Unavailable', code, `VM ${id}: its VMM (pid ${pid}) reports the guest ${state ?? 'in no state it will tell'}`);
    }
    return new QemuVm(id, record, pid, files, qmp, this.identity);
  }

  async destroy(runDir: string): Promise<void> {
    const resolved = path.resolve(runDir);
    const record = (await this.identity.find(resolved))?.record;
    for (const pid of await this.identity.pidsOf(resolved, record)) {
      if (!(await killAndWait(pid))) {
        throw new HearthError('Internal', 'HEARTH_ERR_VMM_STUCK', `VM ${path.basename(resolved)}: its VMM (pid ${pid}) outlived SIGKILL`);
      }
    }
    // Each virtiofsd ends when its QEMU goes; one that has not yet (or whose QEMU never started) is ended here.
    if (!(await this.shares.end(resolved))) {
      throw new HearthError('Internal', 'HEARTH_ERR_VMM_STUCK', `VM ${path.basename(resolved)}: a virtiofsd outlived SIGKILL`);
    }
    await this.releaseHost(path.basename(resolved));
  }

  async findAll(vmsDir: string): Promise<VmmFound[]> {
    const running = await this.identity.all(vmsDir);
    const known = new Set(running.map((r) => path.basename(r.runDir)));
    // A cgroup or a virtiofsd whose VMM is gone (a kill -9 between the two) is a VM to purge as well.
    const withShares = (await this.shares.runDirsUnder(vmsDir)).map((d) => path.basename(d));
    const leftover = [...new Set([...((await this.options.cgroups?.list()) ?? []), ...withShares])].filter((id) => !known.has(id));
    return [...running, ...leftover.map((id) => ({ runDir: path.join(path.resolve(vmsDir), id), pid: null }))];
  }

  private async releaseHost(vmId: string): Promise<void> {
    this.options.jail?.release(vmId);
    await this.options.cgroups?.remove(vmId);
  }
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
