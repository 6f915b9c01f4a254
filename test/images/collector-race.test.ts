/**
 * The collector against containers being created: whatever step a container's provisioning is at when a
 * collection runs (recorded but not resolving yet, resolved but not booted), and even when its image's tag
 * moves meanwhile, the image it is about to boot from stays, and it is not downloaded again. Collections
 * here keep no unused image (keepUnused 0), so anything the collector wrongly thinks unused goes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Gate } from '../containers/fakes.ts';
import { create, waitFor } from '../containers/harness.ts';
import { imageApp, type ImageApp } from '../helpers/image-app.ts';
import { startProxy, type TestProxy } from '../helpers/registry-proxy.ts';
import { Pusher, pushImage, type PushedImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const push = (p: Pusher, repo: string, tag: string) =>
  pushImage(p, repo, tag, [{ entries: [{ path: 'payload', content: randomBytes(64 * 1024) }] }], { config: { Cmd: ['sleep'] } });

describe('collections while containers are created', () => {
  let reg: TestRegistry;
  let proxy: TestProxy;
  let pusher: Pusher;
  let h: ImageApp;
  before(async () => {
    reg = await startRegistry();
    proxy = await startProxy(reg.url);
    pusher = new Pusher(reg.url);
    h = await imageApp({ keepUnused: 0 });
  });
  after(async () => {
    await h?.close();
    await proxy?.stop();
    await reg?.stop();
  });

  const prune = async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/images/prune' });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const pull = async (image: string) => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().item.digest as string;
  };
  /** Deletes the container and waits until the collection that follows has removed every image. */
  const deleteAndDrain = async (id: string) => {
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
    await prune();
    assert.deepEqual((await h.app.inject({ url: '/v1/images' })).json().items, []);
  };
  const layerGets = (img: PushedImage) => proxy.blobGets(img.layers[0]!.digest);

  it('keeps the image of a container recorded but not resolving yet, and of one resolved but not booted', async () => {
    const img = await push(pusher, 'race/held', 'v1');
    const ref = `${proxy.host}/race/held:v1`;
    const realEnsure = h.images.ensureRootfs.bind(h.images);
    for (let round = 0; round < 3; round++) {
      await pull(ref);
      const downloads = layerGets(img);
      const resolving = new Gate();
      h.images.ensureRootfs = async (...args) => {
        await resolving.pass();
        return realEnsure(...args);
      };
      h.network.attachGate = new Gate();
      const id = await create(h.app, { name: `held-${round}`, image: ref });
      try {
        // recorded, about to resolve its image
        while (resolving.reached === 0) await new Promise((r) => setImmediate(r));
        assert.deepEqual((await prune()).removed, []);
        resolving.open();
        // resolved, about to take an address and boot
        while (h.network.attachGate.reached === 0) await new Promise((r) => setImmediate(r));
        await Promise.all([prune(), prune()]);
        h.network.attachGate.open();
        await waitFor(h.app, id, 'running');
      } finally {
        h.images.ensureRootfs = realEnsure;
        h.network.attachGate = undefined;
      }
      const launched = h.launcher.disks.at(-1)!;
      assert.ok(launched.existed, `round ${round}: the image disk was there when the VM was launched`);
      assert.equal(layerGets(img), downloads, `round ${round}: not downloaded again`);
      await deleteAndDrain(id);
      assert.ok(!fs.existsSync(launched.path), 'and it goes once the container is deleted');
    }
  });

  it('keeps the image a container resolved when its tag moves before it boots', async () => {
    const ref = `${proxy.host}/race/moving:v1`;
    const first = await push(pusher, 'race/moving', 'v1');
    assert.equal(await pull(ref), first.manifestDigest);
    h.network.attachGate = new Gate();
    let id: string;
    try {
      id = await create(h.app, { name: 'moving', image: ref });
      while (h.network.attachGate.reached === 0) await new Promise((r) => setImmediate(r));
      const second = await push(pusher, 'race/moving', 'v1');
      assert.equal(await pull(ref), second.manifestDigest, 'the tag moved');
      const pruned = await prune();
      // the new image is what the container's reference names now, the old one is what it resolved
      assert.deepEqual(pruned.removed, []);
      const old = (await h.app.inject({ url: `/v1/images/${first.manifestDigest}` })).json().item;
      assert.equal(old.digest, first.manifestDigest);
      assert.deepEqual(old.references, []);
      assert.equal(old.containers[0].name, 'moving');
      h.network.attachGate.open();
      await waitFor(h.app, id, 'running');
    } finally {
      h.network.attachGate = undefined;
    }
    const launched = h.launcher.disks.at(-1)!;
    assert.ok(launched.path.includes(first.manifestDigest.slice(7)), 'booted from the image it resolved');
    assert.ok(launched.existed);
    await deleteAndDrain(id);
    assert.ok(!fs.existsSync(launched.path));
  });

  it('keeps what a pull in progress has downloaded so far, and what it has yet to', async () => {
    const layers = [
      { entries: [{ path: 'small', content: 'small' }] },
      { entries: [{ path: 'big', content: randomBytes(512 * 1024) }], compression: 'none' as const },
    ];
    const img = await pushImage(pusher, 'race/slow', 'v1', layers, { config: { Cmd: ['sleep'] } });
    // the small layer is already here (pulled as another image's) and not used by anything
    await pushImage(pusher, 'race/small', 'v1', [layers[0]!], { config: { Cmd: ['sleep'] } });
    await pull(`${proxy.host}/race/small:v1`);
    const slow = await startProxy(reg.url, { throttle: 256 * 1024 });
    try {
      const pulling = h.app.inject({
        method: 'POST',
        url: '/v1/images/pull',
        payload: { image: `${slow.host}/race/slow:v1` },
        headers: { accept: 'application/x-ndjson' },
      });
      while (slow.blobGets(img.layers[1]!.digest) === 0) await new Promise((r) => setTimeout(r, 5));
      const pruned = await prune();
      assert.deepEqual(pruned.removed.map((r: any) => r.references), [[`${proxy.host}/race/small:v1`]], 'the other image went');
      const lines = (await pulling).body.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.at(-1).status, 'done', JSON.stringify(lines.at(-1)));
      assert.deepEqual(
        lines.filter((l) => l.status === 'layer' && l.state !== 'downloading').map((l) => [l.digest, l.state]).sort(),
        [[img.layers[0]!.digest, 'cached'], [img.layers[1]!.digest, 'verified']].sort(),
      );
      assert.equal(slow.blobGets(img.layers[0]!.digest), 0, 'the layer already here was not downloaded');
      const item = (await h.app.inject({ url: `/v1/images/${img.manifestDigest}` })).json().item;
      assert.ok(fs.existsSync(`${h.dir}/images/disks/${img.manifestDigest.slice(7)}`), `built: ${JSON.stringify(item)}`);
    } finally {
      await slow.stop();
    }
    await prune();
  });

  it('containers created one after another while collections run back to back all start from the one download', async () => {
    const img = await push(pusher, 'race/busy', 'v1');
    const ref = `${proxy.host}/race/busy:v1`;
    await pull(ref);
    const downloads = layerGets(img);
    // collections start once the first container is recorded: one that ran before would rightly take the image
    const ids: string[] = [await create(h.app, { name: 'busy-0', image: ref })];
    let creating = true;
    const collections = (async () => {
      let n = 0;
      while (creating || n < 3) {
        await prune();
        n++;
      }
      return n;
    })();
    try {
      for (let i = 1; i < 8; i++) ids.push(await create(h.app, { name: `busy-${i}`, image: ref }));
      for (const id of ids) await waitFor(h.app, id, 'running');
    } finally {
      creating = false;
    }
    assert.ok((await collections) >= 3);
    assert.equal(layerGets(img), downloads, 'no container pulled the image again');
    for (const d of h.launcher.disks.slice(-ids.length)) assert.ok(d.existed, `${d.id}: the disk was there at launch`);
    for (const id of ids) await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });
});
