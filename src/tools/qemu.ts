/**
 * qemu-system-x86_64 with the `microvm` machine: the typed description of one VM and the argv for it.
 * Choices measured on Debian 12's QEMU 7.2 (under TCG): no default devices or option ROMs, an ISA serial
 * for the kernel console, the RTC on (off costs 2 s in the guest), ACPI off so QEMU lists the
 * virtio-mmio devices on the kernel command line itself, and -no-reboot so a guest reboot ends QEMU.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { jailerArgs, type JailSpec } from './jailer.ts';
import { runTool } from './run.ts';

export const QEMU_BINARY = 'qemu-system-x86_64';
const TCG_TB_CACHE_MIB = 128;

export interface QemuMicrovm {
  /** Appears in the process list as `-name`, so a VM's process can be recognised. */
  name: string;
  accel: 'kvm' | 'tcg';
  vcpus: number;
  memoryMib: number;
  kernel: string;
  initrd: string;
  append: string;
  /** File that receives the guest's serial console. */
  consoleLog: string;
  /** Unix socket QEMU listens on for QMP. */
  qmpSocket?: string;
  drives: Array<{ id: string; path: string; readOnly: boolean; serial: string }>;
  /**
   * A NIC on a host tap, which QEMU opens by name or, with `fd`, was handed open; with neither, a NIC wired to
   * nothing (a hub port of its own), whose VM's clones get a tap.
   */
  nics: Array<{ id: string; tap?: string; mac: string; fd?: number }>;
  /** A virtio-serial port backed by a unix socket QEMU listens on. */
  serialPorts: Array<{ id: string; name: string; socket: string }>;
  /**
   * virtio-fs devices, each served by a virtiofsd listening on `socket` (vhost-user), seen by the guest as
   * `tag`. With any, guest RAM is a shared memfd (the vhost-user backend maps it) and the virtio-mmio
   * transport is the modern one (libvhost-user refuses legacy devices).
   */
  fileShares?: Array<{ id: string; socket: string; tag: string }>;
  /**
   * QEMU's seccomp filter: on top of its default deny list, no obsolete system calls, no set*id, no
   * fork/exec, no scheduler or resource-limit changes.
   */
  seccomp: boolean;
  /** Start with the vCPUs stopped (`-S`): the guest runs from QMP `cont`. */
  paused?: boolean;
  /**
   * Guest RAM mapped from a file: `shared`, the guest's writes go to the file (a VM to be saved, whose RAM is
   * then the file); not shared, a private copy-on-write mapping (a VM resumed from that file).
   */
  memory?: { path: string; shared: boolean };
  /**
   * Resume a saved VM instead of booting: QEMU waits for QMP `migrate-incoming` to name the state (a
   * migration stream), then the guest goes on from where it was saved.
   */
  incoming?: boolean;
}

const SECCOMP = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';

export function qemuArgv(vm: QemuMicrovm): string[] {
  const shares = vm.fileShares ?? [];
  const argv = [
    '-name', vm.name,
    '-M', `microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off,pcie=off${shares.length > 0 || vm.memory ? ',memory-backend=ram' : ''}`,
    // TCG's translation cache defaults to 1 GiB and fills as the guest runs new code; a bound keeps a
    // long-lived container's VMM from growing towards it. QEMU never gives back what it filled: a boot
    // alone fills ~31 MiB, most of it code run once. 16 MiB would save an idle VM that much but flushes the
    // cache during the boot, and a start then took 50-100 ms longer (bench:boot, three runs; the entrypoint's
    // exec to its first output alone 27 -> 55-63 ms). A VM resumed from a template fills ~20 MiB after it.
    '-accel', vm.accel === 'tcg' ? `tcg,tb-size=${TCG_TB_CACHE_MIB}` : 'kvm',
    '-cpu', vm.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(vm.vcpus),
    '-m', `${vm.memoryMib}M`,
    '-nodefaults', '-no-user-config', '-no-reboot', '-display', 'none',
    '-kernel', vm.kernel,
    '-initrd', vm.initrd,
    '-append', vm.append,
    '-serial', `file:${vm.consoleLog}`,
  ];
  if (vm.seccomp) argv.push('-sandbox', SECCOMP);
  if (vm.paused) argv.push('-S');
  if (vm.qmpSocket) argv.push('-qmp', `unix:${vm.qmpSocket},server=on,wait=off`);
  if (vm.incoming) argv.push('-incoming', 'defer');
  for (const d of vm.drives) {
    argv.push(
      '-drive', `id=${d.id},file=${d.path},format=raw,if=none,readonly=${d.readOnly ? 'on' : 'off'}`,
      '-device', `virtio-blk-device,drive=${d.id},serial=${d.serial}`,
    );
  }
  for (const [i, n] of vm.nics.entries()) {
    argv.push('-netdev', netdevArg(n, i), '-device', `virtio-net-device,netdev=${n.id},mac=${n.mac}`);
  }
  // Guest RAM in a memfd only where the vhost-user backend maps it, in a file only for templates and their
  // clones; otherwise anonymous.
  if (shares.length > 0) {
    argv.push('-object', `memory-backend-memfd,id=ram,size=${vm.memoryMib}M,share=on`, '-global', 'virtio-mmio.force-legacy=false');
  } else if (vm.memory) {
    argv.push('-object', `memory-backend-file,id=ram,size=${vm.memoryMib}M,mem-path=${vm.memory.path.replaceAll(',', ',,')},share=${vm.memory.shared ? 'on' : 'off'}`);
  }
  for (const f of shares) {
    argv.push('-chardev', `socket,id=${f.id},path=${f.socket}`, '-device', `vhost-user-fs-device,chardev=${f.id},tag=${f.tag}`);
  }
  // Port 0 is kept for a console. The default of 31 ports made the guest set up queues and buffers for
  // all of them: ~3.6 MiB of guest memory, touched.
  if (vm.serialPorts.length > 0) argv.push('-device', `virtio-serial-device,max_ports=${vm.serialPorts.length + 1}`);
  for (const p of vm.serialPorts) {
    argv.push(
      '-chardev', `socket,id=${p.id},path=${p.socket},server=on,wait=off`,
      // The port's device id names it in QMP's VSERPORT_CHANGE (the guest opened or closed its end).
      '-device', `virtserialport,id=${p.id},chardev=${p.id},name=${p.name}`,
    );
  }
  // Memory the guest frees goes back to the host: the guest reports free blocks (of 2-4 MiB) and QEMU discards
  // them. Not where RAM is a file: QEMU 7.2 discards by punching holes in the file, which for a clone is its
  // template's sealed copy (every report would fail), and a template must have its clones' devices. Being a
  // fifth virtio-mmio device, it takes IRQ 8 (transports count down from 12), the RTC's, whose driver then
  // does not load; nothing needs it: the agent sets the clock from RUN (as a VM with a volume already did).
  if (!vm.memory) argv.push('-device', 'virtio-balloon-device,free-page-reporting=on');
  return argv;
}

/** A NIC wired to nothing is alone on hub `index`. */
function netdevArg(n: QemuMicrovm['nics'][number], index: number): string {
  if (n.fd !== undefined) return `tap,id=${n.id},fd=${n.fd}`;
  if (n.tap !== undefined) return `tap,id=${n.id},ifname=${n.tap},script=no,downscript=no`;
  return `hubport,id=${n.id},hubid=${index}`;
}

/** The absolute path of the QEMU binary on PATH (a jail binds it by path). */
export async function locateQemu(): Promise<string> {
  const { stdout } = await runTool('sh', ['-c', `command -v ${QEMU_BINARY}`], { timeoutMs: 10_000 });
  return stdout.trim();
}

export interface QemuSpawnOptions {
  /**
   * QEMU's whole environment: a tag here is how a VMM is found again in /proc whatever became of its
   * records. Jailed, the jailer has it too, so the VMM is tagged from its first instant as root.
   */
  env: Record<string, string>;
  /** Run QEMU through hearth-jailer (at `jailer`, with `spec`); QEMU's paths in `vm` are then inside the jail. */
  jail?: { jailer: string; qemu: string; spec: JailSpec };
  /** Descriptors QEMU inherits at 3, 4, ... (unjailed: the jailer opens its own). */
  inherit?: number[];
}

/**
 * Starts QEMU in its own session with its output in `logFd`, so it survives the process that started it.
 * Jailed, the jailer execs QEMU in place, so the child's pid is QEMU's either way. The caller keeps the
 * ChildProcess only to reap it while it lives.
 */
export function spawnQemu(vm: QemuMicrovm, logFd: number, options: QemuSpawnOptions): ChildProcess {
  const [program, args, env] = options.jail
    ? [options.jail.jailer, jailerArgs({ ...options.jail.spec, env: { ...options.jail.spec.env, ...options.env } }, options.jail.qemu, qemuArgv(vm)), options.env]
    : [QEMU_BINARY, qemuArgv(vm), { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env }];
  const child = spawn(program, args, { detached: true, stdio: ['ignore', logFd, logFd, ...(options.inherit ?? [])], env });
  child.unref();
  return child;
}

export interface QemuRunOutcome {
  /** null when killed by a signal or at the time limit. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderr: string;
}

/** Runs a short-lived VM (a probe) in the foreground until QEMU exits, or kills it after `timeoutMs`. */
export function runQemuToExit(vm: QemuMicrovm, timeoutMs: number): Promise<QemuRunOutcome> {
  return new Promise((resolve) => {
    const child = spawn(QEMU_BINARY, qemuArgv(vm), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut: false, stderr: `${QEMU_BINARY} could not start: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stderr });
    });
  });
}
