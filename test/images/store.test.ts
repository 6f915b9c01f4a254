/**
 * The image store around a build: gc while a disk is being built, the build's scratch directory, recovery
 * from a disk directory torn by a crash, progress for an image already here, and configs too large to want.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { ImageStore, type PullProgress, type Rootfs } from '../../src/images/image-store.ts';
import { startProxy } from '../helpers/registry-proxy.ts';
import { Pusher, pushImage, type PushedImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('image store builds', () => {
  let reg: TestRegistry;
  let fat: PushedImage;
  let ref: string;
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-store-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    reg = await startRegistry();
    const p = new Pusher(reg.url);
    // the first layer is big and incompressible, so applying it takes several turns of the event loop
    await pushImage(p, 'store/app', 'v1', [
      { entries: Array.from({ length: 64 }, (_, i) => ({ path: `d0/f${i}`, content: randomBytes(32 * 1024) })) },
      { entries: [{ path: 'd1/last', content: 'last' }] },
    ]);
    ref = `${reg.host}/store/app:v1`;
    fat = await pushImage(p, 'store/fat-config', 'v1', [{ entries: [{ path: 'x', content: 'x' }] }], { configExtra: { padding: 'x'.repeat(5 * 1024 * 1024) } });
  });

  after(async () => {
    await reg?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** ensureRootfs(ref), calling `during` with the build's work directory while the first layer is being applied. */
  async function duringBuild(store: ImageStore, scratch: string, during: (work: string) => Promise<void>): Promise<Rootfs> {
    const building = store.ensureRootfs(ref);
    let done = false;
    building.finally(() => (done = true)).catch(() => {});
    let work: string | undefined;
    while (!done && work === undefined) {
      work = fs
        .readdirSync(scratch)
        .filter((n) => n.startsWith('hearth-build-'))
        .map((n) => path.join(scratch, n))
        .find((w) => fs.existsSync(path.join(w, 'rootfs', 'd0')));
      if (work === undefined) await new Promise((r) => setImmediate(r));
    }
    assert.ok(work, 'the build was caught in the middle');
    await during(work);
    return building;
  }

  it('gc during a build keeps the blobs the build needs, and frees them after', async () => {
    const store = new ImageStore({ dataDir: tempDir() });
    await store.pull(ref);
    const r = await duringBuild(store, path.join(store.root, 'tmp'), async () => {
      assert.equal((await store.remove(ref)).collected.blobs, 0, 'the removal freed blobs the build was using');
      assert.equal((await store.collect()).blobs, 0, 'gc removed blobs the build was using');
    });
    assert.ok(fs.existsSync(r.diskPath));
    const g = await store.collect();
    assert.equal(g.blobs, 4, 'manifest, config and two layers, no longer pinned');
    assert.equal(g.disks, 1);
  });

  it('builds in a work directory only root can enter, even in a shared scratch directory', async () => {
    const scratch = tempDir();
    fs.chmodSync(scratch, 0o1777); // like /dev/shm
    const store = new ImageStore({ dataDir: tempDir(), scratchDir: scratch });
    await duringBuild(store, scratch, async (work) => {
      assert.equal((fs.statSync(work).mode & 0o777).toString(8), '700');
    });
  });

  it('rebuilds a disk whose image.json a crash left torn', async () => {
    const dataDir = tempDir();
    const first = await new ImageStore({ dataDir }).ensureRootfs(ref);
    const record = path.join(path.dirname(first.diskPath), 'image.json');
    for (const torn of ['', '{"manifestDigest":', 'null', '{}']) {
      fs.writeFileSync(record, torn);
      const store = new ImageStore({ dataDir });
      const r = await store.ensureRootfs(ref);
      assert.equal(r.diskPath, first.diskPath, `after image.json ${JSON.stringify(torn)}`);
      assert.ok(fs.existsSync(r.diskPath));
      assert.equal((JSON.parse(fs.readFileSync(record, 'utf8')) as { manifestDigest: string }).manifestDigest, r.manifestDigest);
      assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
    }
  });

  it('reports building to the first caller when the image is already pulled', async () => {
    const store = new ImageStore({ dataDir: tempDir() });
    await store.pull(ref);
    const events: PullProgress[] = [];
    await store.ensureRootfs(ref, { onProgress: (e) => events.push(e) });
    assert.deepEqual(events.map((e) => e.type), ['building', 'ready']);
  });

  it('refuses a config larger than 4 MiB before downloading it', async () => {
    const proxy = await startProxy(reg.url);
    try {
      const store = new ImageStore({ dataDir: tempDir(), retries: 0 });
      await assert.rejects(
        store.ensureRootfs(`${proxy.host}/store/fat-config:v1`),
        (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_MANIFEST_INVALID') && /config .* larger than/.test(e.message) && e.message.includes('store/fat-config'),
      );
      assert.equal(proxy.blobGets(fat.configDigest), 0);
      assert.deepEqual(await store.list(), []);
    } finally {
      await proxy.stop();
    }
  });
});
