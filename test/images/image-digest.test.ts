/**
 * The image a container resolved, against the real image store and a real registry: a stopped container
 * starts again from it after its tag moved, and it stays "used" by that container across a manager restart
 * (the container's record names it); `PUT` with another image frees it; a container deleted while its image
 * is still being pulled does not keep that image once the pull lands; a pull that joins one under way
 * hears it from the start; closing the app does not wait for a pull.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { imageUsers } from '../../src/containers/image-users.ts';
import { ImageStore } from '../../src/images/image-store.ts';
import { create, waitFor } from '../containers/harness.ts';
import { imageApp, type ImageApp } from '../helpers/image-app.ts';
import { startProxy, type TestProxy } from '../helpers/registry-proxy.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const push = (p: Pusher, repo: string, tag: string, bytes = 64 * 1024) =>
  pushImage(p, repo, tag, [{ entries: [{ path: 'payload', content: randomBytes(bytes) }], compression: 'none' as const }], { config: { Cmd: ['sleep'] } });

describe('the image a container resolved', () => {
  let reg: TestRegistry;
  let proxy: TestProxy;
  let slow: TestProxy;
  let pusher: Pusher;
  let h: ImageApp;
  before(async () => {
    reg = await startRegistry();
    proxy = await startProxy(reg.url);
    slow = await startProxy(reg.url, { throttle: 256 * 1024 });
    pusher = new Pusher(reg.url);
    h = await imageApp({ keepUnused: 0 });
  });
  after(async () => {
    await h?.close();
    await slow?.stop();
    await proxy?.stop();
    await reg?.stop();
  });

  const inject = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) => h.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const ok = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) => {
    const res = await inject(method, url, payload);
    assert.equal(res.statusCode, 200, `${method} ${url}: ${res.body}`);
    return res.json();
  };

  it('a stopped container starts again from it after its tag moved, a restarted manager still counts it, PUT frees it', async () => {
    const ref = `${proxy.host}/pin/app:v1`;
    const first = await push(pusher, 'pin/app', 'v1');
    const id = await create(h.app, { name: 'pinned', image: ref });
    assert.equal((await waitFor(h.app, id, 'running')).image_digest, first.manifestDigest);
    await ok('POST', `/v1/containers/${id}/stop`);

    const second = await push(pusher, 'pin/app', 'v1');
    assert.equal((await ok('POST', '/v1/images/pull', { image: ref })).item.digest, second.manifestDigest, 'the tag moved');
    await ok('POST', `/v1/containers/${id}/start`);
    assert.equal((await waitFor(h.app, id, 'running')).image_digest, first.manifestDigest);
    const launched = h.launcher.disks.at(-1)!;
    assert.ok(launched.path.includes(first.manifestDigest.slice(7)), `booted the image it resolved: ${launched.path}`);
    assert.ok(launched.existed);
    await ok('POST', `/v1/containers/${id}/stop`);

    // a restarted manager has no memory of what provisioning resolved: the record says it
    const restarted = new ImageStore({ dataDir: h.dir, usage: imageUsers(h.store), retries: 0 });
    try {
      const old = await restarted.inspect(first.manifestDigest);
      assert.deepEqual(old.users.map((u) => u.name), ['pinned']);
      await assert.rejects(restarted.remove(first.manifestDigest), /pinned/);
    } finally {
      await restarted.close();
    }

    const other = await push(pusher, 'pin/other', 'v1');
    const put = await ok('PUT', `/v1/containers/${id}`, { image: `${proxy.host}/pin/other:v1` });
    assert.equal(put.item.image_digest, null);
    // no longer used by the container: the collection after the PUT (keepUnused 0) or this prune takes it
    await ok('POST', '/v1/images/prune');
    assert.equal((await inject('GET', `/v1/images/${first.manifestDigest}`)).statusCode, 404);
    await ok('POST', `/v1/containers/${id}/start`);
    assert.equal((await waitFor(h.app, id, 'running')).image_digest, other.manifestDigest);
    assert.equal((await inject('DELETE', `/v1/containers/${id}`)).statusCode, 204);
    await ok('POST', '/v1/images/prune');
  });

  it('a container deleted while its image is being pulled does not keep it once the pull lands', async () => {
    const img = await push(pusher, 'pin/slow', 'v1', 512 * 1024);
    const ref = `${slow.host}/pin/slow:v1`;
    const id = await create(h.app, { name: 'gone-early', image: ref });
    while (slow.blobGets(img.layers[0]!.digest) === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal((await inject('DELETE', `/v1/containers/${id}`)).statusCode, 204);
    // joins the pull under way (or finds its image here once it has landed)
    assert.equal((await h.images.ensureRootfs(ref)).manifestDigest, img.manifestDigest);
    const pruned = await ok('POST', '/v1/images/prune');
    assert.deepEqual(pruned.removed.map((r: { digest: string }) => r.digest), [img.manifestDigest]);
    assert.deepEqual((await ok('GET', '/v1/images')).items, []);
  });

  it('a pull that joins one under way hears it from the start', async () => {
    const img = await push(pusher, 'pin/joined', 'v1', 512 * 1024);
    const image = `${slow.host}/pin/joined:v1`;
    const streamed = () => h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image }, headers: { accept: 'application/x-ndjson' } });
    const a = streamed();
    while (slow.blobGets(img.layers[0]!.digest) === 0) await new Promise((r) => setTimeout(r, 5));
    const b = streamed();
    for (const res of await Promise.all([a, b])) {
      const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.slice(0, 2).map((l) => l.status), ['resolving', 'resolved'], res.body);
      assert.equal(lines.at(-1).status, 'done', res.body);
      assert.ok(lines.some((l) => l.status === 'layer' && l.state === 'verified'));
    }
    assert.equal(slow.blobGets(img.layers[0]!.digest), 1, 'one download');
    await ok('POST', '/v1/images/prune');
  });
});

describe('closing the app with a pull under way', () => {
  it('returns at once; the pull stream ends saying the manager is shutting down', async () => {
    const reg = await startRegistry();
    const slow = await startProxy(reg.url, { throttle: 32 * 1024 });
    const h = await imageApp();
    try {
      const img = await push(new Pusher(reg.url), 'pin/huge', 'v1', 1024 * 1024);
      const streaming = h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image: `${slow.host}/pin/huge:v1` }, headers: { accept: 'application/x-ndjson' } });
      const plain = h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image: `${slow.host}/pin/huge:v1` } });
      while (slow.blobGets(img.layers[0]!.digest) === 0) await new Promise((r) => setTimeout(r, 5));
      const t0 = Date.now();
      await h.app.close();
      assert.ok(Date.now() - t0 < 5000, `closed in ${Date.now() - t0} ms`);
      const last = JSON.parse((await streaming).body.trim().split('\n').at(-1)!);
      assert.deepEqual([last.status, last.error?.code], ['error', 'HEARTH_ERR_SHUTTING_DOWN'], JSON.stringify(last));
      const res = await plain;
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'HEARTH_ERR_SHUTTING_DOWN');
    } finally {
      await slow.stop();
      await h.close().catch(() => {});
      await reg.stop();
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });
});
