/**
 * npm run bench:api — the manager as users run it (a separate process, real registry, real VMs under TCG,
 * real bridge and taps inside a network namespace of its own). From a cached image it creates containers
 * one after another (BENCH_N, default 5) and then 5 at once, and prints create->running median and p95,
 * the host memory of an idle container as its stats report it (`GET /v1/containers/{id}/stats`: the VMM's
 * resident and private memory from smaps_rollup; resident counts the kernel image and QEMU's binary, which
 * every VM shares, private is what the container really costs), the manager's own, and last, over the bare VM
 * boot of bench:boot measured in the same run: `warm_vs_bare`, the sequential create->running median of VMs
 * resumed from a template (the default), and `create_vs_bare`, the same on a second manager with snapshots off
 * (HEARTH_SNAPSHOTS=off: every VM boots), whose series alternates with the first. Where the time goes: the
 * median of each step of both sequential series, as the manager logs every start (`container started`,
 * `startup_ms`; src/containers/startup-steps.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { residentBytes } from '../src/vmm/process.ts';
import { enterTestNetns } from '../test/helpers/inside-netns.ts';
import { e2eEnv } from '../test/helpers/e2e-env.ts';
import type { E2eEnv } from '../test/helpers/e2e-env.ts';
import { measureBare } from './boot.ts';
import { median, summary } from './stats.ts';

await enterTestNetns(import.meta.url);

const N = Number(process.env.BENCH_N ?? 5);
const CONCURRENT = 5;
const SERVE = { image: 'busybox:latest', args: ['sh', '-c', 'echo up; while true; do sleep 1; done'] };

async function createToRunning(world: E2eEnv, name: string): Promise<{ id: string; ms: number }> {
  const t0 = performance.now();
  const id = await world.api.create({ name, ...SERVE });
  for (;;) {
    const item = await world.api.get(id);
    if (item.state === 'running') return { id, ms: performance.now() - t0 };
    if (item.state === 'error' || item.state === 'exited') throw new Error(`${name} ended ${item.state}: ${item.error_message}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The host memory of each (idle) container's VMM, as its stats report it. */
async function vmmMemoryMib(world: E2eEnv, ids: string[]): Promise<{ rss: number[]; private: number[] }> {
  const out = { rss: [] as number[], private: [] as number[] };
  for (const id of ids) {
    const stats = await world.api.call('GET', `/v1/containers/${id}/stats`);
    if (stats.status !== 200) throw new Error(`stats of ${id}: ${stats.text}`);
    out.rss.push(stats.body.item.memory.host_resident_bytes / 2 ** 20);
    out.private.push(stats.body.item.memory.host_private_bytes / 2 ** 20);
  }
  return out;
}

/** The figure this benchmark printed before containers had memory limits and stats, for a 256 MiB guest (now 256 MiB is the container's and its VM has 302). */
const EARLIER_PRIVATE_MIB = 98.5;

async function deleteAll(world: E2eEnv, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => world.api.call('DELETE', `/v1/containers/${id}`)));
}

/** Each start's steps, from the manager's log (info: both managers log alike, so the comparison stays fair). */
function startupSteps(w: E2eEnv, ids: ReadonlySet<string>): Array<Record<string, number>> {
  const out: Array<Record<string, number>> = [];
  for (const line of w.manager.output().split('\n')) {
    if (!line.includes('"container started"')) continue;
    const entry = JSON.parse(line) as { container?: string; startup_ms?: Record<string, number> };
    if (entry.container && ids.has(entry.container) && entry.startup_ms) out.push(entry.startup_ms);
  }
  return out;
}

const world = await e2eEnv({ HEARTH_LOG_LEVEL: 'info' });
// A second manager whose VMs all boot, on a bridge and subnet of its own: creations alternate between the two,
// so both see the same machine (run one series after the other and the first is ~100 ms slower, whichever).
const cold = await e2eEnv({ HEARTH_LOG_LEVEL: 'info', HEARTH_SNAPSHOTS: 'off', HEARTH_BRIDGE: 'hbench1', HEARTH_SUBNET: '10.214.0.0/24', HEARTH_NAT: 'off' });
const scratch = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-api-'));
try {
  console.log(`hearth bench:api — manager process, QEMU microvm accel=tcg, image ${SERVE.image} (cached), n=${N}, then ${CONCURRENT} at once`);
  // Pull and build the image disk (and the template) once, so every measured create starts from the cache.
  for (const w of [world, cold]) await deleteAll(w, [(await createToRunning(w, 'warm-up')).id]);
  const managerIdle = ((await residentBytes(world.manager.pid)) ?? 0) / 2 ** 20;

  const sequential: { id: string; ms: number }[] = [];
  const booted: { id: string; ms: number }[] = [];
  for (let i = 0; i < N; i++) {
    sequential.push(await createToRunning(world, `seq-${i}`));
    booted.push(await createToRunning(cold, `cold-${i}`));
  }
  const vmm = await vmmMemoryMib(world, sequential.map((s) => s.id));
  const vmmBooted = await vmmMemoryMib(cold, booted.map((s) => s.id));
  const managerLoaded = ((await residentBytes(world.manager.pid)) ?? 0) / 2 ** 20;
  await deleteAll(world, sequential.map((s) => s.id));
  await deleteAll(cold, booted.map((s) => s.id));

  const concurrent = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => createToRunning(world, `par-${i}`)));
  await deleteAll(world, concurrent.map((s) => s.id));

  const bare = await measureBare(N, scratch);

  const printSteps = (w: E2eEnv, ids: Array<{ id: string }>) => {
    const steps = startupSteps(w, new Set(ids.map((s) => s.id)));
    for (const step of Object.keys(steps[0] ?? {})) console.log(summary(`  step ${step}`, steps.map((s) => s[step] ?? 0)));
  };
  console.log(summary('create->running, sequential, resumed', sequential.map((s) => s.ms)));
  printSteps(world, sequential);
  console.log(summary(`create->running, ${CONCURRENT} at once`, concurrent.map((s) => s.ms)));
  console.log(summary('idle ctr host resident', vmm.rss, 'MiB'));
  console.log(`${summary('idle ctr host private', vmm.private, 'MiB')} (earlier, a 256 MiB guest: ${EARLIER_PRIVATE_MIB}MiB)`);
  console.log(`manager RSS                  idle=${managerIdle.toFixed(1)}MiB with ${N} running=${managerLoaded.toFixed(1)}MiB (+${((managerLoaded - managerIdle) / N).toFixed(1)}MiB each)`);
  console.log(summary('create->running, sequential, booted', booted.map((s) => s.ms)));
  printSteps(cold, booted);
  console.log(summary('idle ctr private, booted', vmmBooted.private, 'MiB'));
  console.log(summary('bare VM boot (bench:boot)', bare.total));
  console.log(`create_vs_bare=${(median(booted.map((s) => s.ms)) / median(bare.total)).toFixed(2)}`);
  console.log(`warm_vs_bare=${(median(sequential.map((s) => s.ms)) / median(bare.total)).toFixed(2)}`);
} finally {
  await cold.close();
  await world.close();
  await rm(scratch, { recursive: true, force: true });
}
