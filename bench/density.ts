/**
 * npm run bench:density — how many idle containers a host holds, and what each costs it. A real manager (a
 * separate process, real registry, real VMs under TCG, bridge and taps inside a network namespace of its own)
 * starts idle containers (busybox `sleep 1d`, the manager's default resources) in batches of BENCH_BATCH
 * (default 10) until HEARTH_BENCH_DENSITY_MAX are up (default 250) or the host's headroom would end with the
 * next batch (see `headroomLeft`). Once all are up and BENCH_SETTLE_S (default 10) has passed, it prints:
 * - `idle_private_mib`: host memory each idle container costs, the median over them of its VMM's private
 *   memory (smaps_rollup Private_Clean + Private_Dirty) plus that of any host process of its own (virtiofsd);
 *   and, to check it against, the fall of the host's MemAvailable per container (which also counts the host
 *   kernel's share: page tables, taps, the disks' page cache);
 * - `idle_cpu_pct`: host CPU per idle container (percent of one CPU), every VMM's utime+stime over
 *   BENCH_CPU_WINDOW_S (default 10), summed and divided by their number;
 * - `max_idle_containers`, and why it stopped there;
 * - `GET /v1/containers` p50/p99 with all of them listed (BENCH_LIST_N requests one after another, default 200).
 * Then it deletes them all and checks nothing leaked (VMM processes, taps, run directories, rows, disks).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { SHARE_TAG } from '../src/vmm/qemu/file-shares.ts';
import { cpuTimeOf, memoryOf, processesTagged, residentBytes } from '../src/vmm/process.ts';
import { assertNoLeaks, e2eEnv } from '../test/helpers/e2e-env.ts';
import type { E2eEnv } from '../test/helpers/e2e-env.ts';
import { enterTestNetns } from '../test/helpers/inside-netns.ts';
import { vmmsUnder } from '../test/helpers/vmm-processes.ts';
import { median, percentile } from './stats.ts';

await enterTestNetns(import.meta.url);

const MAX = Number(process.env.HEARTH_BENCH_DENSITY_MAX ?? 250);
const BATCH = Number(process.env.BENCH_BATCH ?? 10);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_S ?? 10) * 1000;
const CPU_WINDOW_MS = Number(process.env.BENCH_CPU_WINDOW_S ?? 10) * 1000;
const LIST_N = Number(process.env.BENCH_LIST_N ?? 200);
const IDLE = { image: 'busybox:latest', args: ['sleep', '1d'] };

/**
 * The headroom rule. The machine is shared (other workers' tests, and it has no swap): the benchmark's
 * containers together may leave no less than a quarter of the host's memory available (MemAvailable), and
 * may use, idle, no more than a quarter of its CPU. Each batch is admitted only if the projection from the
 * containers already up (their MemAvailable fall and their idle CPU, per container) says it still fits.
 */
const MEMORY_RESERVE_FRACTION = 0.25;
const CPU_BUDGET_FRACTION = 0.25;
/** The short CPU sample between batches, after the new batch's boots have quietened. */
const BATCH_SETTLE_MS = 2000;
const BATCH_CPU_SAMPLE_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function meminfoKib(field: string): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
}

/** The host processes of this world's containers: their VMMs and any virtiofsd. */
async function containerProcesses(world: E2eEnv): Promise<{ vmms: number[]; helpers: number[] }> {
  const helpers = (await processesTagged(SHARE_TAG, world.dataDir)).map((p) => p.pid);
  return { vmms: await vmmsUnder(world.dataDir), helpers };
}

/** Host CPU of `pids` together over `ms`, in percent of one CPU. */
async function cpuPercent(pids: number[], ms: number): Promise<number> {
  const total = async () => {
    const times = await Promise.all(pids.map((p) => cpuTimeOf(p)));
    return times.reduce((sum, t) => sum + (t ? t.userNs + t.systemNs : 0), 0);
  };
  const before = await total();
  const t0 = performance.now();
  await sleep(ms);
  const used = (await total()) - before;
  return (used / 1e6 / (performance.now() - t0)) * 100;
}

async function startIdle(world: E2eEnv, name: string): Promise<string> {
  const id = await world.api.create({ name, ...IDLE });
  const item = await world.api.waitFor(id, ['running', 'exited', 'error'], 300_000);
  if (item.state !== 'running') throw new Error(`${name} ended ${item.state}: ${item.error_message}`);
  return id;
}

async function timeList(world: E2eEnv, expected: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < LIST_N; i++) {
    const t0 = performance.now();
    const r = await world.api.call('GET', '/v1/containers');
    samples.push(performance.now() - t0);
    if (r.status !== 200 || r.body.items.length !== expected) throw new Error(`list: ${r.status}, ${r.body?.items?.length} items, not ${expected}`);
  }
  return samples;
}

const world = await e2eEnv({ HEARTH_LOG_LEVEL: 'warn' });
const ids: string[] = [];
const began = performance.now();
try {
  const cores = os.cpus().length;
  const memTotal = await meminfoKib('MemTotal');
  const reserveKib = memTotal * MEMORY_RESERVE_FRACTION;
  const cpuBudget = cores * 100 * CPU_BUDGET_FRACTION;
  console.log(
    `hearth bench:density — manager process, QEMU microvm accel=tcg, ${IDLE.image} ${IDLE.args.join(' ')}, up to ${MAX} in batches of ${BATCH}; ` +
      `headroom: keep ${(reserveKib / 2 ** 20).toFixed(1)} GiB available, idle containers under ${cpuBudget.toFixed(0)}% CPU (${cores} CPUs)`,
  );
  // Pull and build the image disk once, so the containers measured start from the cache.
  const warm = await startIdle(world, 'warm-up');
  await world.api.call('DELETE', `/v1/containers/${warm}`);
  await sleep(1000);
  const availableBefore = await meminfoKib('MemAvailable');
  const managerBefore = ((await residentBytes(world.manager.pid)) ?? 0) / 2 ** 20;

  let stoppedBy = `the cap (HEARTH_BENCH_DENSITY_MAX=${MAX})`;
  while (ids.length < MAX) {
    const batch = Math.min(BATCH, MAX - ids.length);
    if (ids.length > 0) {
      await sleep(BATCH_SETTLE_MS);
      const available = await meminfoKib('MemAvailable');
      const memoryEach = (availableBefore - available) / ids.length;
      const cpuEach = (await cpuPercent((await containerProcesses(world)).vmms, BATCH_CPU_SAMPLE_MS)) / ids.length;
      if (available - batch * memoryEach < reserveKib) {
        stoppedBy = `memory headroom (${(available / 2 ** 20).toFixed(1)} GiB available, ${(memoryEach / 1024).toFixed(0)} MiB per container)`;
        break;
      }
      if ((ids.length + batch) * cpuEach > cpuBudget) {
        stoppedBy = `CPU headroom (${cpuEach.toFixed(2)}% per idle container)`;
        break;
      }
    }
    const base = ids.length;
    ids.push(...(await Promise.all(Array.from({ length: batch }, (_, i) => startIdle(world, `idle-${base + i}`)))));
  }
  const upAfterS = (performance.now() - began) / 1000;
  await sleep(SETTLE_MS);

  const { vmms, helpers } = await containerProcesses(world);
  if (vmms.length !== ids.length) throw new Error(`${vmms.length} VMM processes for ${ids.length} containers`);
  const privateMib: number[] = [];
  for (const pid of vmms) privateMib.push(((await memoryOf(pid))?.private ?? NaN) / 2 ** 20);
  let helpersMib = 0;
  for (const pid of helpers) helpersMib += ((await memoryOf(pid))?.private ?? 0) / 2 ** 20;
  const perContainer = privateMib.map((m) => m + helpersMib / ids.length);
  const availableFallMib = (availableBefore - (await meminfoKib('MemAvailable'))) / 1024 / ids.length;
  const managerAfter = ((await residentBytes(world.manager.pid)) ?? 0) / 2 ** 20;
  const cpuTotal = await cpuPercent([...vmms, ...helpers], CPU_WINDOW_MS);
  const list = await timeList(world, ids.length);

  console.log(`containers up after ${upAfterS.toFixed(0)} s; stopped by ${stoppedBy}`);
  console.log(`idle_private_mib=${median(perContainer).toFixed(1)} (p95=${percentile(perContainer, 95).toFixed(1)} min=${Math.min(...perContainer).toFixed(1)}; virtiofsd ${helpers.length})`);
  console.log(`host MemAvailable fall per container=${availableFallMib.toFixed(1)}MiB; manager RSS ${managerBefore.toFixed(0)} -> ${managerAfter.toFixed(0)}MiB`);
  console.log(`idle_cpu_pct=${(cpuTotal / ids.length).toFixed(3)} (all ${ids.length} together ${cpuTotal.toFixed(1)}% of one CPU over ${CPU_WINDOW_MS / 1000} s)`);
  console.log(`max_idle_containers=${ids.length}`);
  // With snapshots on, a VM resumes from its shape's template; one that boots instead says why (a warning).
  const booted = world.manager.output().split('\n').filter((l) => /VM \S+ boots: /.test(l));
  console.log(`booted instead of resumed from a template: ${booted.length}${booted[0] ? ` (first: ${booted[0].slice(0, 300)})` : ''}`);
  console.log(`list_p50_ms=${median(list).toFixed(1)} list_p99_ms=${percentile(list, 99).toFixed(1)} (GET /v1/containers, ${ids.length} listed, n=${list.length})`);

  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += BATCH) {
    const replies = await Promise.all(ids.slice(i, i + BATCH).map((id) => world.api.call('DELETE', `/v1/containers/${id}`)));
    const failed = replies.find((r) => r.status >= 300);
    if (failed) throw new Error(`delete: ${failed.status} ${failed.text}`);
  }
  ids.length = 0;
  await assertNoLeaks(world);
  console.log(`deleted all in ${((performance.now() - t0) / 1000).toFixed(0)} s; no VMM, tap, run directory, disk or row left; whole run ${((performance.now() - began) / 1000).toFixed(0)} s`);
} finally {
  await world.close();
}
