/**
 * npm run bench:exec — the exec round trip as a user makes it, through the real manager (`POST
 * /v1/containers/{id}/exec` of `true`, then `POST /v1/exec/{exec}/start`, to its exit code; BENCH_EXEC_N times,
 * default 50), the same at the sandbox level (sandbox.exec to EXIT: the guest's share), the interactive echo
 * latency (a byte written to a tty exec running `cat` until it is read back, BENCH_ECHO_N times, default 50),
 * and as a baseline bare VM boots (BENCH_N, default 5; see bench/boot.ts). QEMU microvm, TCG, jailed VMMs,
 * busybox. Prints median and p95 and last `exec_vs_bare`: the API round trip median over the bare boot median.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildProcessSpec } from '../src/containers/process-spec.ts';
import type { ExecSpec, Sandbox } from '../src/sandbox/sandbox.ts';
import { e2eEnv } from '../test/helpers/e2e-env.ts';
import type { E2eEnv } from '../test/helpers/e2e-env.ts';
import { enterTestNetns } from '../test/helpers/inside-netns.ts';
import { busyboxImage } from '../test/helpers/test-images.ts';
import { makeLauncher } from '../test/helpers/vm-env.ts';
import { measureBare } from './boot.ts';
import { median, percentile } from './stats.ts';

const N_EXEC = Number(process.env.BENCH_EXEC_N ?? 50);
const N_ECHO = Number(process.env.BENCH_ECHO_N ?? 50);
const N_BARE = Number(process.env.BENCH_N ?? 5);

const spec = (argv: string[], more: Partial<ExecSpec> = {}): ExecSpec => ({ argv, env: ['PATH=/bin:/usr/bin'], cwd: '', user: '', tty: false, stdin: false, ...more });

const line = (label: string, samples: number[]) =>
  `${label.padEnd(36)} median=${median(samples).toFixed(1)}ms p95=${percentile(samples, 95).toFixed(1)}ms n=${samples.length}`;

async function execRoundTrips(vm: Sandbox, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const session = await vm.exec(spec(['true']));
    const exit = await session.wait();
    out.push(performance.now() - t0);
    if (exit?.code !== 0) throw new Error(`exec of true ended with ${JSON.stringify(exit)}`);
  }
  return out;
}

/** Create + start of an exec of `true` through the manager's API, to its exit code. */
async function apiRoundTrips(world: E2eEnv, containerId: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const created = await world.api.call('POST', `/v1/containers/${containerId}/exec`, { cmd: ['true'] });
    const started = await world.api.call('POST', `/v1/exec/${created.body.id}/start`, { detach: false });
    out.push(performance.now() - t0);
    if (started.body?.exit_code !== 0) throw new Error(`exec of true through the API: ${started.text}`);
  }
  return out;
}

async function measureApi(n: number): Promise<number[]> {
  const world = await e2eEnv({ HEARTH_LOG_LEVEL: 'error' });
  try {
    const id = await world.api.create({ name: 'bench-exec', image: 'busybox:latest', args: ['sleep', '100000'] });
    await world.api.waitFor(id, ['running']);
    await apiRoundTrips(world, id, 3); // warm-up
    return await apiRoundTrips(world, id, n);
  } finally {
    await world.close();
  }
}

/** A byte into a tty `cat` (raw mode: no line buffering) until its echo comes back. */
async function echoLatencies(vm: Sandbox, n: number): Promise<number[]> {
  const session = await vm.exec(spec(['sh', '-c', 'stty raw -echo; echo ready; exec cat'], { tty: true, stdin: true, size: { rows: 24, cols: 80 } }));
  let text = '';
  let waiter: (() => void) | undefined;
  session.on('output', (c) => {
    text += c.data.toString('latin1');
    waiter?.();
  });
  const until = (s: string) => new Promise<void>((resolve) => {
    const check = () => text.includes(s) && (resolve(), true);
    if (!check()) waiter = () => void check();
  });
  await until('ready');
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    text = '';
    const t0 = performance.now();
    const seen = until(ch);
    session.write(Buffer.from(ch));
    await seen;
    out.push(performance.now() - t0);
  }
  session.signal(9);
  await session.wait();
  return out;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-exec-'));
  try {
    console.log(`hearth bench:exec — QEMU microvm, accel=tcg, 1 vCPU, 128 MiB, VMM jailed; ${N_EXEC} execs, ${N_ECHO} echoes, ${N_BARE} bare boots`);
    const launcher = await makeLauncher(path.join(dir, 'vms'), true);
    const image = await busyboxImage();
    const vm = await launcher.launch({
      id: randomUUID(),
      rootfs: { path: image, fsType: 'ext4' },
      process: buildProcessSpec({ cmd: ['/bin/sleep', '100000'] }, { args: [], env: {}, hostname: 'bench' }),
      cpus: 1,
      memoryMib: 128,
    });
    let roundTrips: number[];
    let echoes: number[];
    try {
      await new Promise<void>((resolve) => vm.once('started', () => resolve()));
      await execRoundTrips(vm, 3); // warm-up: page cache of the image disk
      roundTrips = await execRoundTrips(vm, N_EXEC);
      echoes = await echoLatencies(vm, N_ECHO);
    } finally {
      await vm.stop({ signal: 9, graceMs: 0 });
      await vm.release();
    }
    const viaApi = await measureApi(N_EXEC);
    const bare = await measureBare(N_BARE, dir);
    console.log(line('exec round trip via the API', viaApi));
    console.log(line('exec round trip, sandbox level', roundTrips));
    console.log(line('interactive echo (tty cat)', echoes));
    console.log(line('bare VM boot (kernel+init to exit)', bare.total));
    console.log(`exec_vs_bare=${(median(viaApi) / median(bare.total)).toFixed(3)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await enterTestNetns(import.meta.url);
await main();
