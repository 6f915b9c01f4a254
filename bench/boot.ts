/**
 * npm run bench:boot — boots N microVMs (default 5, BENCH_N) one after another, each running a real
 * entrypoint (`echo`) through the agent, with the VMM jailed and, alternately, not; and as a baseline N
 * bare VMs (same kernel, an init that powers off at once). Prints per phase median and p95, the VMM's peak
 * RSS, `entrypoint_vs_bare` (the jailed median time to the entrypoint's first output over the median time
 * to the bare VM's end) and last `jailed_vs_unjailed` for the same figure.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildProcessSpec } from '../src/containers/process-spec.ts';
import { locateGuestArtifacts } from '../src/sandbox/guest-artifacts.ts';
import { qemuKernelArgs } from '../src/vmm/qemu/kernel-args.ts';
import { QemuDriver } from '../src/vmm/qemu/driver.ts';
import { busyboxImage } from '../test/helpers/test-images.ts';
import { CACHE_DIR, makeLauncher } from '../test/helpers/vm-env.ts';
import { median, summary } from './stats.ts';
import { peakRss } from './peak-rss.ts';

const N = Number(process.env.BENCH_N ?? 5);

export interface BootFigures {
  bareTotal: number[];
  entrypoint: number[];
}

export async function measureBare(n: number, dir: string): Promise<{ spawn: number[]; total: number[]; rss: number[] }> {
  const guest = await locateGuestArtifacts(CACHE_DIR);
  const driver = new QemuDriver({ accel: 'tcg', baseKernelArgs: await qemuKernelArgs('tcg') });
  const out = { spawn: [] as number[], total: [] as number[], rss: [] as number[] };
  for (let i = 0; i < n; i++) {
    const runDir = path.join(dir, `bare-${i}`);
    await mkdir(runDir, { recursive: true });
    const t0 = performance.now();
    const vm = await driver.start({
      id: `bare-${i}`, runDir, vcpus: 1, memoryMib: 128,
      kernelPath: guest.kernel, initrdPath: guest.bareInitramfs, kernelArgs: [], drives: [], nics: [],
    });
    out.spawn.push(performance.now() - t0);
    const rss = peakRss(vm.pid);
    await vm.exited;
    out.total.push(performance.now() - t0);
    out.rss.push((await rss.stop()) / 2 ** 20);
  }
  return out;
}

type Phases = Record<'spawn' | 'kernel' | 'init' | 'exec' | 'toEntrypoint' | 'toGone' | 'rss', number[]>;
const noPhases = (): Phases => ({ spawn: [], kernel: [], init: [], exec: [], toEntrypoint: [], toGone: [], rss: [] });

/** Boots `n` VMs with a jailed VMM and `n` without, alternately, so both see the same machine noise. */
export async function measureEntrypoint(n: number, dir: string): Promise<{ jailed: Phases; unjailed: Phases }> {
  const launchers = { jailed: await makeLauncher(path.join(dir, 'vms'), true), unjailed: await makeLauncher(path.join(dir, 'vms-unjailed'), false) };
  const image = await busyboxImage();
  const out = { jailed: noPhases(), unjailed: noPhases() };
  for (let i = 0; i < 2 * n; i++) {
    const kind = i % 2 === 0 ? 'jailed' : 'unjailed';
    const launcher = launchers[kind];
    const phases = out[kind];
    const t0 = performance.now();
    const marks: Record<string, number> = {};
    const sandbox = await launcher.launch({
      id: randomUUID(),
      rootfs: { path: image, fsType: 'ext4' },
      process: buildProcessSpec({ cmd: ['/bin/echo', 'hello'] }, { args: [], env: {}, hostname: 'bench' }),
      cpus: 1,
      memoryMib: 128,
    });
    marks.spawned = performance.now();
    const rss = peakRss(sandbox.info.pid);
    sandbox.once('ready', () => (marks.ready = performance.now()));
    sandbox.once('started', () => (marks.started = performance.now()));
    sandbox.once('output', () => (marks.output = performance.now()));
    await sandbox.wait();
    marks.gone = performance.now();
    await sandbox.release();
    if (marks.ready === undefined || marks.started === undefined || marks.output === undefined) {
      throw new Error(`VM ${i} did not go through every phase: ${JSON.stringify(marks)}`);
    }
    phases.spawn.push(marks.spawned! - t0);
    phases.kernel.push(marks.ready - marks.spawned!);
    phases.init.push(marks.started - marks.ready);
    phases.exec.push(marks.output - marks.started);
    phases.toEntrypoint.push(marks.output - t0);
    phases.toGone.push(marks.gone - t0);
    phases.rss.push((await rss.stop()) / 2 ** 20);
  }
  return out;
}

function printPhases(title: string, p: Phases): void {
  console.log(`\n${title}`);
  console.log(summary('  VMM spawn', p.spawn));
  console.log(summary('  kernel (to agent hello)', p.kernel));
  console.log(summary('  init (to process started)', p.init));
  console.log(summary('  entrypoint exec (to output)', p.exec));
  console.log(summary('  total to entrypoint output', p.toEntrypoint));
  console.log(summary('  total to VMM gone', p.toGone));
  console.log(summary('  VMM peak RSS', p.rss, 'MiB'));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-boot-'));
  try {
    console.log(`hearth bench:boot — ${N} VMs each, QEMU microvm, accel=tcg, 1 vCPU, 128 MiB`);
    const bare = await measureBare(N, dir);
    const agent = await measureEntrypoint(N, dir);
    console.log('\nbare baseline (same kernel, init powers off at once)');
    console.log(summary('  VMM spawn', bare.spawn));
    console.log(summary('  kernel+init to VMM exit', bare.total));
    console.log(summary('  VMM peak RSS', bare.rss, 'MiB'));
    printPhases('hearth, VMM jailed (agent runs the entrypoint `echo hello`)', agent.jailed);
    printPhases('hearth, VMM not jailed (HEARTH_JAIL=off)', agent.unjailed);
    console.log(`\nentrypoint_vs_bare=${(median(agent.jailed.toEntrypoint) / median(bare.total)).toFixed(2)}`);
    console.log(`jailed_vs_unjailed=${(median(agent.jailed.toEntrypoint) / median(agent.unjailed.toEntrypoint)).toFixed(3)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
