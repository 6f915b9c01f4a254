/**
 * Pulling from an open docker-registry on 127.0.0.1: the fixture image byte-for-byte in the disk, an index
 * with two platforms, gzip/zstd/plain layers, one download for concurrent pulls, mirrors, list/inspect/
 * remove/collect, and clear errors that leave nothing half-made.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { ImageStore, type ImageUser, type PullProgress } from '../../src/images/image-store.ts';
import { readDiskTree } from '../helpers/disk-tree.ts';
import { diffTree, FIXTURE_LAYERS } from '../helpers/image-fixtures.ts';
import { startProxy, type TestProxy } from '../helpers/registry-proxy.ts';
import { Pusher, pushImage, pushIndex, type PushedImage } from '../helpers/registry-push.ts';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('image pull from an open registry', () => {
  let reg: TestRegistry;
  let amd: PushedImage;
  let arm: PushedImage;
  let indexDigest: string;
  const dirs: string[] = [];
  const dataDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-images-'));
    dirs.push(d);
    return d;
  };

  let closedPort = 0;
  before(async () => {
    closedPort = await freePort();
    reg = await startRegistry();
    const p = new Pusher(reg.url);
    amd = await pushImage(p, 'team/app', undefined, FIXTURE_LAYERS, {
      config: {
        Entrypoint: ['/bin/tool'],
        Cmd: ['--serve'],
        Env: ['PATH=/bin', 'A=1'],
        WorkingDir: '/home/app',
        User: '1000:1000',
        ExposedPorts: { '80/tcp': {} },
        Volumes: { '/data': {} },
        StopSignal: 'SIGQUIT',
        Healthcheck: { Test: ['CMD', '/bin/tool', 'health'], Interval: 5e9, Retries: 3 },
      },
    });
    arm = await pushImage(p, 'team/app', undefined, [{ entries: [{ path: 'arm', content: 'arm' }] }], { architecture: 'arm64' });
    indexDigest = await pushIndex(p, 'team/app', '1.0', [
      { digest: arm.manifestDigest, size: arm.manifestSize, architecture: 'arm64' },
      { digest: amd.manifestDigest, size: amd.manifestSize, architecture: 'amd64' },
    ]);
    await pushImage(p, 'team/docker-style', 'latest', [{ entries: [{ path: 'hello', content: 'hi' }] }], { style: 'docker' });
    await pushImage(p, 'team/chart', 'v1', [{ entries: [{ path: 'x', content: 'x' }] }], {
      configMediaType: 'application/vnd.cncf.helm.config.v1+json',
    });
  });

  after(async () => {
    await reg?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const fsType of ['erofs', 'ext4'] as const) {
    it(`builds a ${fsType} disk holding exactly what the layers say`, async () => {
      const store = new ImageStore({ dataDir: dataDir(), fsType });
      const events: PullProgress[] = [];
      const r = await store.ensureRootfs(`${reg.host}/team/app:1.0`, { onProgress: (e) => events.push(e) });
      assert.equal(r.manifestDigest, amd.manifestDigest, 'linux/amd64 chosen from the index');
      assert.equal(r.fsType, fsType);
      assert.deepEqual(diffTree(await readDiskTree(r.diskPath, fsType)), []);
      assert.deepEqual(r.config.entrypoint, ['/bin/tool']);
      assert.deepEqual(r.config.cmd, ['--serve']);
      assert.deepEqual(r.config.env, ['PATH=/bin', 'A=1']);
      assert.equal(r.config.workingDir, '/home/app');
      assert.equal(r.config.user, '1000:1000');
      assert.deepEqual(r.config.exposedPorts, ['80/tcp']);
      assert.deepEqual(r.config.volumes, ['/data']);
      assert.equal(r.config.stopSignal, 'SIGQUIT');
      assert.deepEqual(r.config.healthcheck?.test, ['CMD', '/bin/tool', 'health']);
      const layerEvents = events.filter((e) => e.type === 'layer' && e.status === 'verified');
      assert.equal(layerEvents.length, 3);
      assert.ok(events.some((e) => e.type === 'layer' && e.status === 'downloading' && e.downloaded > 0));
      assert.equal(events.at(-1)?.type, 'ready');
    });
  }

  it('serves a cache hit without the registry and shares one download among concurrent pulls', async () => {
    const proxy: TestProxy = await startProxy(reg.url);
    try {
      const store = new ImageStore({ dataDir: dataDir() });
      const ref = `${proxy.host}/team/app@${indexDigest}`;
      const [a, b, c] = await Promise.all([store.ensureRootfs(ref), store.ensureRootfs(ref), store.ensureRootfs(`${proxy.host}/team/app:1.0`)]);
      assert.equal(a.diskPath, b.diskPath);
      assert.equal(a.diskPath, c.diskPath);
      for (const l of amd.layers) assert.equal(proxy.blobGets(l.digest), 1, `layer ${l.digest} fetched once`);
      await proxy.stop();
      const again = await store.ensureRootfs(ref);
      assert.equal(again.diskPath, a.diskPath);
    } finally {
      await proxy.stop();
    }
  });

  it('picks another platform when asked, and pulls Docker schema2 images', async () => {
    const store = new ImageStore({ dataDir: dataDir(), platform: 'linux/arm64' });
    const r = await store.ensureRootfs(`${reg.host}/team/app:1.0`);
    assert.equal(r.manifestDigest, arm.manifestDigest);
    const d = await store.ensureRootfs(`${reg.host}/team/docker-style`);
    assert.equal((await store.inspect(`${reg.host}/team/docker-style:latest`)).mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.ok(fs.existsSync(d.diskPath));
  });

  it('pulls docker.io names through a configured mirror', async () => {
    const p = new Pusher(reg.url);
    await pushImage(p, 'library/busyboxish', 'stable', [{ entries: [{ path: 'bin/busybox', content: 'bb', mode: 0o755 }] }]);
    const store = new ImageStore({ dataDir: dataDir(), mirrors: { 'docker.io': [reg.url] }, retries: 0 });
    const r = await store.ensureRootfs('busyboxish:stable');
    assert.equal(r.ref, 'docker.io/library/busyboxish:stable');
    assert.deepEqual((await store.list()).map((i) => i.refs), [['docker.io/library/busyboxish:stable']]);
  });

  it('lists, inspects, removes and garbage-collects', async () => {
    const appRef = `${reg.host}/team/app:1.0`;
    let users: ImageUser[] = [{ id: 'c1', name: 'web', ref: appRef }];
    const store = new ImageStore({ dataDir: dataDir(), usage: async () => users });
    const a = await store.ensureRootfs(appRef, { user: 'c1' });
    const b = await store.ensureRootfs(`${reg.host}/team/docker-style:latest`);
    assert.equal((await store.list()).length, 2);
    const info = await store.inspect(appRef);
    assert.equal(info.indexDigest, indexDigest);
    assert.equal(info.layers.length, 3);
    assert.equal(info.disk?.path, a.diskPath);
    assert.deepEqual(info.users.map((u) => u.name), ['web']);
    await assert.rejects(store.remove(appRef), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_IN_USE') && /container web \(c1\)/.test(e.message));
    // forced: forgotten, but still used by the container's run: kept
    const forced = await store.remove(appRef, { force: true });
    assert.deepEqual(forced.refs, [appRef]);
    assert.equal(forced.collected.disks, 0);
    assert.ok(fs.existsSync(a.diskPath));
    users = [];
    store.release('c1');
    const res = await store.collect();
    assert.equal(res.disks, 1);
    assert.ok(res.blobs >= 5, `removed ${res.blobs} blobs`); // index, manifest, config, 3 layers
    assert.ok(!fs.existsSync(a.diskPath));
    assert.ok(fs.existsSync(b.diskPath));
    assert.deepEqual((await store.list()).map((i) => i.manifestDigest), [b.manifestDigest]);
    await assert.rejects(() => store.remove(appRef), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_NOT_FOUND'));
  });

  it('tags an image by reference or digest, moves a tag, and forgets one name while others remain', async () => {
    const p = new Pusher(reg.url);
    const made = [
      { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:a in /', empty_layer: false },
      { created: '2024-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true, comment: 'why' },
    ];
    await pushImage(p, 'team/tagged', '1', [{ entries: [{ path: 'a', content: 'a' }] }], { configExtra: { history: made } });
    const store = new ImageStore({ dataDir: dataDir() });
    const first = `${reg.host}/team/tagged:1`;
    const digest = await store.pull(first);
    assert.deepEqual(await store.tag(first, 'mine'), { ref: 'docker.io/library/mine:latest', manifestDigest: digest });
    assert.deepEqual((await store.tag(digest, `${reg.host}/other:2`)).manifestDigest, digest);
    const info = await store.inspect('mine');
    assert.deepEqual(info.refs, ['docker.io/library/mine:latest']);
    assert.deepEqual((await store.inspect(digest)).refs, [`${reg.host}/other:2`, first, 'docker.io/library/mine:latest'].sort());
    assert.deepEqual(
      info.config.history.map((h) => [h.createdBy, h.emptyLayer, h.comment]),
      [
        ['/bin/sh -c #(nop) ADD file:a in /', false, ''],
        ['/bin/sh -c #(nop)  CMD ["sh"]', true, 'why'],
      ],
    );
    // a tag naming another image moves to this one
    const other = await store.pull(`${reg.host}/team/docker-style:latest`);
    await store.tag(other, 'mine');
    assert.equal((await store.inspect('mine')).manifestDigest, other);
    const untag = await store.remove(`${reg.host}/other:2`);
    assert.deepEqual([untag.refs, untag.unnamed, untag.collected.blobs], [[`${reg.host}/other:2`], false, 0]);
    assert.equal((await store.inspect(first)).manifestDigest, digest);
    await assert.rejects(store.tag('nothing-here:1', 'x'), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_NOT_FOUND'));
    await assert.rejects(store.tag(first, `x@${digest}`), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_REF_INVALID') && e.field === 'tag');
    await assert.rejects(store.tag(first, 'Bad Name'), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_REF_INVALID'));
    assert.equal((await store.remove(first)).unnamed, true);
  });

  describe('errors leave nothing half-made', () => {
    const nothingLeft = async (store: ImageStore): Promise<void> => {
      assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
      assert.deepEqual(fs.readdirSync(path.join(store.root, 'disks')), []);
      assert.deepEqual(await store.list(), []);
    };
    const cases: [string, () => string, string, RegExp][] = [
      ['unknown repository', () => `${reg.host}/team/nope:1`, 'HEARTH_ERR_IMAGE_NOT_FOUND', /repository .*team\/nope does not exist/],
      ['unknown tag', () => `${reg.host}/team/app:9.9`, 'HEARTH_ERR_IMAGE_NOT_FOUND', /manifest 9\.9 .* was not found/],
      ['registry down', () => `127.0.0.1:${closedPort}/team/app:1.0`, 'HEARTH_ERR_REGISTRY_UNAVAILABLE', /unreachable \(ECONNREFUSED\)/],
      ['unsupported media type', () => `${reg.host}/team/chart:v1`, 'HEARTH_ERR_IMAGE_MEDIA_TYPE_UNSUPPORTED', /helm/],
      ['invalid reference', () => `${reg.host}/Team/App`, 'HEARTH_ERR_IMAGE_REF_INVALID', /invalid image reference/],
    ];
    for (const [name, ref, code, msg] of cases) {
      it(name, async () => {
        const store = new ImageStore({ dataDir: dataDir(), retries: 1, retryBaseMs: 10 });
        await assert.rejects(
          () => store.ensureRootfs(ref()),
          (e) => isHearthError(e, code) && msg.test(e.message) && /team\/(nope|app|chart)|Team\/App/.test(e.message),
        );
        await nothingLeft(store);
      });
    }

    it('a blob altered in transit', async () => {
      const target = amd.layers[1]!.digest;
      const proxy = await startProxy(reg.url, { tamper: (digest) => digest === target });
      try {
        const store = new ImageStore({ dataDir: dataDir(), retries: 0 });
        await assert.rejects(
          () => store.ensureRootfs(`${proxy.host}/team/app:1.0`),
          (e) => isHearthError(e, 'HEARTH_ERR_BLOB_DIGEST_MISMATCH') && e.message.includes(target),
        );
        await nothingLeft(store);
        assert.ok(!fs.existsSync(path.join(store.root, 'blobs/sha256', target.slice(7))));
      } finally {
        await proxy.stop();
      }
    });
  });
});
