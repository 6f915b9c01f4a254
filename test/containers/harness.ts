/**
 * Builds the app on a temporary data directory (a real SQLite file) with the fakes, and small helpers to
 * drive it through app.inject().
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config.ts';
import { ScratchDisks } from '../../src/sandbox/scratch-disk.ts';
import { VolumeDisks } from '../../src/volumes/volume-disks.ts';
import { ContainerStore } from '../../src/store/container-store.ts';
import { FakeImages, FakeLauncher, FakeNetwork, FakeWritableLayers } from './fakes.ts';

export const IMAGES = {
  'hello:latest': { cmd: ['echo', 'hello', 'world'] },
  'sleeper:1': { cmd: ['sleep'], env: ['PATH=/custom/bin', 'FROM_IMAGE=1'], workingDir: '/srv' },
  'printer:1': { cmd: ['print-sleep', 'line1', 'line2', 'line3'] },
  'fail:1': { cmd: ['exit', '3'] },
  'ok:1': { cmd: ['exit', '0'] },
  'crash:1': { cmd: ['crash'] },
  'bad:1': { cmd: ['badexec'] },
  'hang:1': { cmd: ['hang'] },
  'nocmd:1': {},
  'quits:1': { cmd: ['sleep'], stopSignal: 'SIGQUIT' },
};

export interface Harness {
  app: FastifyInstance;
  store: ContainerStore;
  images: FakeImages;
  network: FakeNetwork;
  launcher: FakeLauncher;
  writableLayers: FakeWritableLayers;
  dir: string;
  /** Closes app and store; the data directory stays (for recovery tests) unless `cleanup`. */
  close(cleanup?: boolean): Promise<void>;
}

export interface HarnessOptions {
  dir?: string;
  /** Default: silent. */
  logger?: Logger;
  config?: Record<string, unknown>;
  images?: FakeImages;
  network?: FakeNetwork;
  launcher?: FakeLauncher;
  /** The web UI's bundle directory (default: dist/ui/). */
  uiDir?: string;
}

export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'hearth-test-'));
  const config = resolveConfig({
    dataDir: dir,
    timeouts: { imageMs: 5000, networkMs: 5000, bootMs: 5000, startMs: 5000, stopGraceMs: 1000 },
    volumes: { defaultSizeMib: 64 },
    restart: { backoffInitialMs: 5, backoffMaxMs: 20, backoffResetMs: 10_000, onFailureMaxRetries: 3 },
    ...o.config,
  });
  const store = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
  const images = o.images ?? new FakeImages(IMAGES);
  const network = o.network ?? new FakeNetwork();
  const launcher = o.launcher ?? new FakeLauncher();
  const writableLayers = new FakeWritableLayers();
  const app = await buildApp({
    config,
    store,
    images,
    network,
    sandboxes: launcher,
    writableLayers,
    volumes: new VolumeDisks(join(dir, 'volumes'), (d, mib) => new ScratchDisks(join(dir, 'templates')).create(d, mib)),
    logger: o.logger ?? pino({ level: 'silent' }),
    dnsServers: ['10.9.0.1'],
    ...(o.uiDir ? { uiDir: o.uiDir } : {}),
  });
  await app.containers.recovered;
  return {
    app,
    store,
    images,
    network,
    launcher,
    writableLayers,
    dir,
    async close(cleanup = true) {
      await app.close();
      await store.close();
      if (cleanup) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function create(app: FastifyInstance, body: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/containers', payload: body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

export async function getItem(app: FastifyInstance, id: string) {
  const res = await app.inject({ method: 'GET', url: `/v1/containers/${id}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().item;
}

/**
 * Polls until the container's item satisfies `ok` (default: reaches `state`). The limit only ends a test that
 * would otherwise hang: generous, since a loaded machine (VM tests beside) slows the fakes' timers too.
 */
export async function waitFor(app: FastifyInstance, id: string, state: string, ok?: (item: any) => boolean, ms = 30_000) {
  const until = Date.now() + ms;
  let item: any;
  for (;;) {
    item = await getItem(app, id);
    if (ok ? ok(item) : item.state === state) return item;
    if (Date.now() > until) assert.fail(`container ${id} did not reach ${state}; it is ${JSON.stringify(item)}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Asserts the fakes hold nothing: no VM alive, no run directory, no tap, no address, no port forward. */
export function assertNothingHeld(h: Pick<Harness, 'launcher' | 'network'>): void {
  assert.deepEqual(h.launcher.alive().map((v) => v.spec.id), [], 'VMs still alive');
  assert.deepEqual([...h.launcher.runDirs], [], 'run directories left');
  assert.deepEqual([...h.network.taps.keys()], [], 'taps left');
  assert.deepEqual([...h.network.addresses.keys()], [], 'addresses left');
  assert.deepEqual([...h.network.ports.keys()], [], 'port forwards left');
}

export async function states(h: Harness, id: string): Promise<string[]> {
  return (await h.store.listEvents(id)).filter((e) => e.type === 'state').map((e) => e.to_state!);
}
