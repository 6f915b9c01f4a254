/**
 * The app as main.ts wires it for images: the real image store (pulling from a real registry) told which
 * images the containers in a real SQLite store use, collecting after every container deletion; VMs and host
 * network are the containers tests' fakes, whose launcher also notes whether each VM's image disk existed
 * when the VM was launched. Plus `imageBytes`, what the images take on disk, measured independently of the
 * store's own accounting.
 */
import { existsSync, mkdtempSync, readdirSync, lstatSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config.ts';
import { imageUsers } from '../../src/containers/image-users.ts';
import { ImageStore } from '../../src/images/image-store.ts';
import type { Sandbox, SandboxSpec } from '../../src/sandbox/sandbox.ts';
import { ScratchDisks } from '../../src/sandbox/scratch-disk.ts';
import { VolumeDisks } from '../../src/volumes/volume-disks.ts';
import { ContainerStore } from '../../src/store/container-store.ts';
import { FakeLauncher, FakeNetwork, FakeWritableLayers } from '../containers/fakes.ts';

/** A launcher that notes, for each VM, whether its image disk was there when it was launched. */
export class DiskCheckingLauncher extends FakeLauncher {
  readonly disks: { id: string; path: string; existed: boolean }[] = [];
  override async launch(spec: SandboxSpec): Promise<Sandbox> {
    this.disks.push({ id: spec.id, path: spec.rootfs.path, existed: existsSync(spec.rootfs.path) });
    return super.launch(spec);
  }
}

export interface ImageApp {
  app: FastifyInstance;
  store: ContainerStore;
  images: ImageStore;
  network: FakeNetwork;
  launcher: DiskCheckingLauncher;
  dir: string;
  close(): Promise<void>;
}

export async function imageApp(o: { keepUnused?: number; maxBytes?: number } = {}): Promise<ImageApp> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-image-api-'));
  const config = resolveConfig({ dataDir: dir, images: { keepUnused: o.keepUnused ?? 10, maxBytes: o.maxBytes ?? 0 } });
  const store = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
  // The timer is an hour: collections here are the one at start, those after deletions and those asked for.
  const images = new ImageStore({ dataDir: dir, usage: imageUsers(store), ...config.images, collectIntervalMs: 3_600_000, retries: 0 });
  const network = new FakeNetwork();
  const launcher = new DiskCheckingLauncher();
  const volumes = new VolumeDisks(join(dir, 'volumes'), (d, mib) => new ScratchDisks(join(dir, 'templates')).create(d, mib));
  const app = await buildApp({ config, store, images, network, sandboxes: launcher, volumes, writableLayers: new FakeWritableLayers(), logger: pino({ level: 'silent' }), dnsServers: ['10.9.0.1'] });
  images.start();
  return {
    app,
    store,
    images,
    network,
    launcher,
    dir,
    async close() {
      await app.close();
      await images.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bytes allocated to the files under `<dataDir>/images/{blobs,disks}`, as `du` counts them. */
export function imageBytes(dataDir: string): number {
  let n = 0;
  // A collection may be deleting while this counts: what vanishes counts for nothing.
  const walk = (p: string): void => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    n += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(p);
    } catch {
      // Removed meanwhile.
    }
    for (const e of names) walk(join(p, e));
  };
  for (const d of ['blobs', 'disks']) {
    const p = join(dataDir, 'images', d);
    if (existsSync(p)) for (const e of readdirSync(p)) walk(join(p, e));
  }
  return n;
}
