/**
 * npm run bench:docker — the Docker API as the real `docker` CLI uses it, against the manager as users run it
 * (a separate process, real registry, real VMs under TCG, a network namespace of its own):
 *   - `docker run --rm hello-world`, wall time of the whole CLI process (create, attach, start, wait, the
 *     automatic removal, and the CLI's own start-up and version negotiation), from a cached image, beside
 *     Hearth's own create-to-exit through /v1 (`POST /v1/containers` then `POST .../wait`, the deletion not
 *     counted) and that plus the deletion; the two series alternate (BENCH_N each, default 10);
 *   - `docker ps` and `docker ps -a` with 100 containers that exist but do not run (made by `docker create`:
 *     100 running VMs do not fit a 2-core test machine), and the same lists through /v1 for comparison.
 */
import { execFileSync, spawn } from 'node:child_process';
import { enterTestNetns } from '../test/helpers/inside-netns.ts';
import { e2eEnv } from '../test/helpers/e2e-env.ts';
import type { E2eEnv } from '../test/helpers/e2e-env.ts';
import { HELLO_OUTPUT } from '../test/helpers/app-images.ts';
import { median, summary } from './stats.ts';

await enterTestNetns(import.meta.url);

const N = Number(process.env.BENCH_N ?? 10);
const CONTAINERS = 100;
const LISTS = 20;

/** Milliseconds the CLI took, from spawning it to its exit; throws unless it exits 0 and prints `expect`. */
function timedCli(world: E2eEnv, args: string[], expect?: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn('docker', args, { env: world.docker.env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0 || (expect !== undefined && !out.includes(expect))) reject(new Error(`docker ${args.join(' ')} exited ${code}: ${out}`));
      else resolve(ms);
    });
  });
}

/** Hearth's own path: create, then wait for the end of the run; the deletion timed apart. */
async function createToExit(world: E2eEnv, name: string): Promise<{ exit: number; withDelete: number }> {
  const t0 = performance.now();
  const id = await world.api.create({ name, image: 'hello-world' });
  const waited = await world.api.call('POST', `/v1/containers/${id}/wait`);
  if (waited.status !== 200 || waited.body.exit_code !== 0) throw new Error(`wait: ${waited.text}`);
  const exit = performance.now() - t0;
  const deleted = await world.api.call('DELETE', `/v1/containers/${id}`);
  if (deleted.status !== 204) throw new Error(`delete: ${deleted.text}`);
  return { exit, withDelete: performance.now() - t0 };
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const world = await e2eEnv({ HEARTH_LOG_LEVEL: 'error' });
try {
  const version = execFileSync('docker', ['version', '--format', '{{.Client.Version}}'], { env: world.docker.env() }).toString().trim();
  console.log(`hearth bench:docker — docker CLI ${version} on the manager's socket, QEMU microvm accel=tcg, n=${N}`);
  // The image pulled and its disk built once, so every measured run starts from the cache.
  await timedCli(world, ['run', '--rm', 'hello-world'], HELLO_OUTPUT);
  await createToExit(world, 'warm-up');

  const cli: number[] = [];
  const own: { exit: number; withDelete: number }[] = [];
  for (let i = 0; i < N; i++) {
    cli.push(await timedCli(world, ['run', '--rm', 'hello-world'], HELLO_OUTPUT));
    own.push(await createToExit(world, `own-${i}`));
  }
  const ping: number[] = [];
  for (let i = 0; i < N; i++) ping.push(await timedCli(world, ['version', '--format', '{{.Server.Version}}']));

  for (let i = 0; i < CONTAINERS; i++) await world.docker.ok(['create', '--name', `idle-${i}`, 'hello-world']);
  const psAll: number[] = [];
  const psRunning: number[] = [];
  const v1: number[] = [];
  for (let i = 0; i < LISTS; i++) {
    psAll.push(await timedCli(world, ['ps', '-a', '-q']));
    psRunning.push(await timedCli(world, ['ps', '-q']));
    v1.push(await timed(() => world.api.call('GET', '/v1/containers')));
  }
  const listed = (await world.docker.ok(['ps', '-a', '-q'])).trim().split('\n').length;
  if (listed !== CONTAINERS) throw new Error(`docker ps -a listed ${listed} containers, not ${CONTAINERS}`);

  console.log(summary('docker run --rm hello-world', cli));
  console.log(summary('/v1 create->exit', own.map((o) => o.exit)));
  console.log(summary('/v1 create->exit->deleted', own.map((o) => o.withDelete)));
  console.log(summary('docker version (CLI floor)', ping));
  console.log(`docker_run_vs_v1=${(median(cli) / median(own.map((o) => o.exit))).toFixed(2)}`);
  console.log(summary(`docker ps -a, ${CONTAINERS} created`, psAll));
  console.log(summary(`docker ps, ${CONTAINERS} created, 0 running`, psRunning));
  console.log(summary(`GET /v1/containers, ${CONTAINERS}`, v1));
} finally {
  await world.close();
}
