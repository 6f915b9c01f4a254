/**
 * `npm run bench:idle`: the manager's resident memory at idle (started, /health answered, no containers,
 * then BENCH_SETTLE_S seconds of nothing, default 10), run as scripts/start.sh runs it (compiled, plain
 * Node) and from the sources under tsx (`node --import tsx src/main.ts`), alternating, BENCH_N rounds each
 * (default 5). Runs inside a network namespace of its own, as the tests do.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { residentBytes } from '../src/vmm/process.ts';
import { enterTestNetns } from '../test/helpers/inside-netns.ts';
import { startManager } from '../test/helpers/manager-process.ts';
import { freePort } from '../test/helpers/registry.ts';
import { summary } from './stats.ts';

await enterTestNetns(import.meta.url);

const N = Number(process.env.BENCH_N ?? 5);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_S ?? 10) * 1000;

async function idleRssMib(compiled: boolean): Promise<number> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-idle-'));
  const manager = await startManager({ dataDir, port: await freePort(), compiled });
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const rss = await residentBytes(manager.pid);
    if (rss === null) throw new Error(`manager ${manager.pid} is gone:\n${manager.output()}`);
    return rss / 2 ** 20;
  } finally {
    await manager.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const compiled: number[] = [];
const sources: number[] = [];
for (let i = 0; i < N; i++) {
  compiled.push(await idleRssMib(true));
  sources.push(await idleRssMib(false));
}
console.log(summary('idle RSS, compiled (dist/)', compiled, 'MiB'));
console.log(summary('idle RSS, sources under tsx', sources, 'MiB'));
