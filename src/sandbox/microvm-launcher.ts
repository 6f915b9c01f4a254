/**
 * Launches sandboxes as microVMs: a run directory per VM under `vmsDir`, the image disk shared read-only,
 * a scratch disk for the writable layer, a tap for the network, and the agent told what to run (and who it is).
 * Everything a later process needs to adopt the VM is in the run directory (sandbox.json + the driver's files).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeRun } from '../agent/run-message.ts';
import { HearthError, describeError, isHearthError } from '../errors.ts';
import type { GuestMount } from '../agent/run-message.ts';
import type { VmmDriver, DriveConfig, ShareConfig, VmConfig, VmProcess } from '../vmm/driver.ts';
import type { GuestArtifacts } from './guest-artifacts.ts';
import { EXIT_FILE, MicroVmSandbox } from './microvm-sandbox.ts';
import type { LaunchedProcess } from './microvm-sandbox.ts';
import type { ProcessExit, Sandbox, SandboxInfo, SandboxLauncher, SandboxSpec, SandboxVolume } from './sandbox.ts';
import type { ScratchDisks } from './scratch-disk.ts';
import { vmSizeFor } from './vm-size.ts';
import { templateShape } from './template-shape.ts';
import type { VmTemplate, VmTemplates } from './vm-templates.ts';

const SANDBOX_FILE = 'sandbox.json';

/** What sandbox.json holds: enough to adopt the VM and, if its agent still waits, to tell it what to run. */
interface SandboxRecord {
  info: SandboxInfo;
  process: LaunchedProcess;
}

export interface MicroVmLauncherOptions {
  vmsDir: string;
  driver: VmmDriver;
  guest: GuestArtifacts;
  scratch: ScratchDisks;
  scratchSizeMib: number;
  /** VMs resume from these instead of booting where they can; absent, every VM boots. */
  templates?: VmTemplates;
  /** Why a VM booted although templates are on (a reason an operator may act on). */
  warn?: (message: string) => void;
}

export class MicroVmLauncher implements SandboxLauncher {
  constructor(private readonly options: MicroVmLauncherOptions) {}

  async launch(spec: SandboxSpec): Promise<Sandbox> {
    const limits = { memoryMaxBytes: spec.memoryMib * 2 ** 20 };
    const volumes = volumeDevices(spec.volumes ?? []);
    const net = spec.network;
    const network = net ? { address: `${net.guestIp}/${net.prefixLength}`, gateway: net.gateway, mac: net.mac } : undefined;
    // Encoded now, before anything is made, only to be checked: the agent client encodes it again with the
    // clock of the moment it is sent.
    encodeRun(spec.process, spec.rootfs.fsType, { limits, mounts: volumes.mounts, network });
    const size = vmSizeFor(spec);
    const runDir = this.runDir(spec.id);
    await mkdir(this.options.vmsDir, { recursive: true });
    try {
      await mkdir(runDir, { recursive: false });
    } catch (e) {
      throw new HearthError('AlreadyExists', 'HEARTH_ERR_VM_EXISTS', `VM ${spec.id} already has a run directory ${runDir}`, { cause: e });
    }
    try {
      const scratchPath = spec.scratchPath ?? path.join(runDir, 'scratch.ext4');
      if (!existsSync(scratchPath)) {
        await mkdir(path.dirname(scratchPath), { recursive: true, mode: 0o700 });
        await this.options.scratch.create(scratchPath, this.options.scratchSizeMib);
      }
      spec.onStep?.('scratch');
      const drives: DriveConfig[] = [
        { id: 'rootfs', path: spec.rootfs.path, readOnly: true, serial: 'rootfs' },
        { id: 'scratch', path: scratchPath, readOnly: false, serial: 'scratch' },
        ...volumes.drives,
      ];
      const config: VmConfig = {
        id: spec.id,
        runDir,
        vcpus: size.vcpus,
        cpus: spec.cpus,
        memoryMib: size.memoryMib,
        kernelPath: this.options.guest.kernel,
        initrdPath: this.options.guest.initramfs,
        kernelArgs: [],
        drives,
        nics: net ? [{ id: 'net0', tap: net.tap, mac: net.mac }] : [],
        shares: volumes.shares,
      };
      const { vm, template } = await this.startVm(config, spec);
      spec.onStep?.('vmm');
      try {
        const info: SandboxInfo = {
          id: spec.id,
          vmm: this.options.driver.name,
          pid: vm.pid,
          accel: vm.accel,
          vcpus: size.vcpus,
          memoryMib: size.memoryMib,
          guestIp: net?.guestIp ?? null,
          template: template?.key ?? null,
        };
        const process: LaunchedProcess = { spec: spec.process, rootfsType: spec.rootfs.fsType, limits, mounts: volumes.mounts, network };
        await writeFile(path.join(runDir, SANDBOX_FILE), JSON.stringify({ info, process } satisfies SandboxRecord));
        const sandbox = new MicroVmSandbox(info, vm, runDir, process, () => this.purge(spec.id));
        await sandbox.attach();
        spec.onStep?.('connect');
        // The greeting comes once the guest has booted, long after the connection: nothing is missed.
        sandbox.once('ready', () => spec.onStep?.('hello'));
        return sandbox;
      } catch (e) {
        await vm.terminate();
        throw e;
      }
    } catch (e) {
      await rm(runDir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Resumes the VM from its shape's template where it has one (built first if need be), else boots it. A
   * template that cannot be had or fails to resume is logged, and the VM boots instead.
   */
  private async startVm(config: VmConfig, spec: SandboxSpec): Promise<{ vm: VmProcess; template?: VmTemplate }> {
    const { templates, driver } = this.options;
    const shape = templates ? await templateShape(config) : undefined;
    if (!templates || !shape) return { vm: await driver.start(config) };
    let template: VmTemplate | undefined;
    try {
      template = await templates.ensure(shape);
    } catch (e) {
      this.options.warn?.(`VM ${config.id} boots: ${describeError(e)}`);
    }
    spec.onStep?.('template');
    if (!template) return { vm: await driver.start(config) };
    try {
      return { vm: await driver.start({ ...config, restoreFrom: template.saved }), template };
    } catch (e) {
      // The template is not at fault: the host could not make a copy of its RAM just now.
      if (isHearthError(e, 'HEARTH_ERR_VMM_RAM_COPY')) {
        this.options.warn?.(`VM ${config.id} boots: ${describeError(e)}`);
        return { vm: await driver.start(config) };
      }
      if (!isHearthError(e, 'HEARTH_ERR_VMM_RESTORE')) throw e;
      this.options.warn?.(`VM ${config.id} boots: resuming it from template ${template.key} failed (the template is discarded): ${describeError(e)}`);
      await templates.discard(template);
      return { vm: await driver.start(config) };
    }
  }

  async adopt(id: string, options: { acceptPaused?: boolean } = {}): Promise<Sandbox | undefined> {
    const runDir = this.runDir(id);
    let record: SandboxRecord;
    try {
      record = JSON.parse(await readFile(path.join(runDir, SANDBOX_FILE), 'utf8')) as SandboxRecord;
    } catch {
      return undefined;
    }
    const vm = await this.options.driver.adopt(runDir, options);
    if (!vm) return undefined;
    const sandbox = new MicroVmSandbox(record.info, vm, runDir, record.process, () => this.purge(id));
    try {
      await sandbox.reattach();
    } catch (e) {
      vm.detach();
      throw e;
    }
    return sandbox;
  }

  async exitOf(id: string): Promise<ProcessExit | null> {
    try {
      return JSON.parse(await readFile(path.join(this.runDir(id), EXIT_FILE), 'utf8')) as ProcessExit;
    } catch {
      return null;
    }
  }

  async list(): Promise<string[]> {
    const dirs = await readdir(this.options.vmsDir).catch(() => [] as string[]);
    const running = (await this.options.driver.findAll(this.options.vmsDir)).map((v) => path.basename(v.runDir));
    return [...new Set([...dirs, ...running])];
  }

  async purge(id: string): Promise<void> {
    const runDir = this.runDir(id);
    // A VMM still running (its launcher died before it could record the VM, or lost its run directory) holds
    // the tap, the disks and the writable layer's lock: it is found by its tag and ended first.
    await this.options.driver.destroy(runDir);
    await rm(runDir, { recursive: true, force: true });
  }

  private runDir(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) {
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_VM_ID', `VM id ${JSON.stringify(id)} is not a valid name`);
    }
    return path.join(this.options.vmsDir, id);
  }
}

/**
 * The devices behind a container's volumes and what the agent mounts: disk volumes are drives `vol<n>`
 * (found by that serial), host directories shares `fs<n>` (mounted by that tag); a tmpfs needs no device.
 */
export function volumeDevices(volumes: readonly SandboxVolume[]): { drives: DriveConfig[]; shares: ShareConfig[]; mounts: GuestMount[] } {
  const drives: DriveConfig[] = [];
  const shares: ShareConfig[] = [];
  const mounts: GuestMount[] = [];
  for (const v of volumes) {
    if (v.kind === 'disk') {
      const id = `vol${drives.length}`;
      drives.push({ id, path: v.path, readOnly: v.readOnly, serial: id });
      mounts.push({ source: id, fsType: 'ext4', target: v.target, readOnly: v.readOnly, copyUp: v.copyUp && !v.readOnly });
    } else if (v.kind === 'tmpfs') {
      mounts.push({ source: 'tmpfs', fsType: 'tmpfs', target: v.target, readOnly: false, copyUp: false, options: v.options });
    } else {
      const id = `fs${shares.length}`;
      shares.push({ id, path: v.path, readOnly: v.readOnly });
      mounts.push({ source: id, fsType: 'virtiofs', target: v.target, readOnly: v.readOnly, copyUp: false });
    }
  }
  return { drives, shares, mounts };
}
