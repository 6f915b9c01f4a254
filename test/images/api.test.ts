/**
 * The image API against a real docker-registry and the real image store: the pull's progress stream (shape
 * and order), list and inspect fields, the same progress in a container's events, a delete refused while a
 * container uses the image, and the space prune and the collector free, measured on disk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { check, conforms, responseSchema } from '../api/openapi-check.ts';
import { create, waitFor } from '../containers/harness.ts';
import { imageApp, imageBytes, type ImageApp } from '../helpers/image-app.ts';
import { Pusher, pushImage, type PushedImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const CONFIG = {
  // what the fake VMs run: `sleep` runs until stopped (test/containers/fakes.ts)
  Entrypoint: ['sleep'],
  Cmd: ['infinity'],
  Env: ['PATH=/bin', 'MODE=api'],
  ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
  Volumes: { '/data': {} },
  Healthcheck: { Test: ['CMD', '/bin/check'], Interval: 5e9, Timeout: 2e9, StartPeriod: 1e9, Retries: 4 },
  User: '1000:1000',
  WorkingDir: '/srv',
  Labels: { 'org.example.team': 'hearth' },
  StopSignal: 'SIGQUIT',
};

const enc = encodeURIComponent;

describe('image API', () => {
  let reg: TestRegistry;
  let app: PushedImage;
  let appRef: string;
  let otherRef: string;
  let h: ImageApp;

  before(async () => {
    reg = await startRegistry();
    const p = new Pusher(reg.url);
    // a layer of random bytes large enough to arrive in many chunks, so `downloading` lines appear
    app = await pushImage(p, 'api/app', 'v1', [
      { entries: [{ path: 'big.bin', content: randomBytes(768 * 1024) }] },
      { entries: [{ path: 'etc/motd', content: 'hi\n' }] },
    ], { config: CONFIG });
    await pushImage(p, 'api/other', 'v1', [{ entries: [{ path: 'other.bin', content: randomBytes(256 * 1024) }] }], { config: { Cmd: ['sleep'] } });
    appRef = `${reg.host}/api/app:v1`;
    otherRef = `${reg.host}/api/other:v1`;
    h = await imageApp();
  });

  after(async () => {
    await h?.close();
    await reg?.stop();
  });

  const pullStream = async (image: string) => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image }, headers: { accept: 'application/x-ndjson' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    const schema = await responseSchema(h.app, 'POST', '/v1/images/pull', 200, 'application/x-ndjson');
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
    for (const l of lines) assert.deepEqual(check(schema, l), [], JSON.stringify(l));
    return lines;
  };

  it('streams a pull: resolving, resolved, each layer to verified, building, done', async () => {
    const lines = await pullStream(appRef);
    assert.deepEqual(lines[0], { status: 'resolving', image: appRef });
    assert.deepEqual(lines[1], {
      status: 'resolved',
      image: appRef,
      digest: app.manifestDigest,
      layers: app.layers.map((l) => ({ digest: l.digest, size: l.size })),
    });
    const layerLines = lines.slice(2, -2);
    assert.ok(layerLines.every((l) => l.status === 'layer'), 'only layer lines between resolved and building');
    for (const l of app.layers) {
      const mine = layerLines.filter((x) => x.digest === l.digest);
      assert.ok(mine.every((x) => x.total === l.size));
      assert.deepEqual(mine.map((x) => x.done), [...mine.map((x) => x.done)].sort((a, b) => a - b), 'bytes done never go back');
      assert.deepEqual(mine.at(-1), { status: 'layer', digest: l.digest, state: 'verified', done: l.size, total: l.size });
      assert.ok(mine.slice(0, -1).every((x) => x.state === 'downloading'));
    }
    const big = layerLines.filter((x) => x.digest === app.layers[0]!.digest && x.state === 'downloading');
    assert.ok(big.length >= 3 && big.length <= 12, `a few sampled lines for the big layer, not one per chunk: ${big.length}`);
    assert.ok(big.some((x) => x.done > 0 && x.done < x.total), 'bytes done as the layer arrives');
    assert.deepEqual(lines.at(-2), { status: 'building', digest: app.manifestDigest });
    assert.deepEqual(lines.at(-1), { status: 'done', image: appRef, digest: app.manifestDigest });

    // again: the registry is asked (a tag may move), every layer is already here, the disk too
    const again = await pullStream(appRef);
    assert.deepEqual(again.map((l) => [l.status, l.state]), [['resolving', undefined], ['resolved', undefined], ['layer', 'cached'], ['layer', 'cached'], ['done', undefined]]);
  });

  it('streams a failure as the last line; without the stream it is the usual error', async () => {
    const lines = await pullStream(`${reg.host}/api/app:nope`);
    assert.equal(lines.length, 2);
    assert.equal(lines[0].status, 'resolving');
    assert.equal(lines[1].status, 'error');
    assert.equal(lines[1].error.code, 'HEARTH_ERR_IMAGE_NOT_FOUND');
    assert.match(lines[1].error.message, /api\/app/);
    const plain = await h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image: `${reg.host}/api/app:nope` } });
    assert.equal(plain.statusCode, 404);
    assert.equal(plain.json().error.code, 'HEARTH_ERR_IMAGE_NOT_FOUND');
    const bad = await h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image: 'Not/A/Ref' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.field, 'body/image');
  });

  it('lists and inspects, by reference and by digest, with the config', async () => {
    const plain = await h.app.inject({ method: 'POST', url: '/v1/images/pull', payload: { image: appRef } });
    assert.equal(plain.statusCode, 200, plain.body);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/images/pull', plain), []);
    assert.equal(plain.json().item.digest, app.manifestDigest);

    const list = await h.app.inject({ url: '/v1/images' });
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/images', list), []);
    const item = list.json().items.find((i: any) => i.digest === app.manifestDigest);
    const disk = fs.readdirSync(`${h.dir}/images/disks/${app.manifestDigest.slice(7)}`);
    const diskBytes = disk.reduce((n, f) => n + fs.statSync(`${h.dir}/images/disks/${app.manifestDigest.slice(7)}/${f}`).blocks * 512, 0);
    assert.deepEqual(item, {
      digest: app.manifestDigest,
      references: [appRef],
      index_digest: null,
      platform: 'linux/amd64',
      created: '2024-01-02T03:04:05Z',
      pulled_at: item.pulled_at,
      size: app.layers[0]!.size + app.layers[1]!.size,
      size_on_disk: item.size_on_disk,
      disk: { fs_type: 'erofs', bytes: diskBytes },
      containers: [],
    });
    assert.ok(Date.now() - Date.parse(item.pulled_at) < 60_000);
    assert.ok(item.size_on_disk >= item.size + diskBytes, `${item.size_on_disk} counts the layers and the disk`);

    for (const key of [appRef, app.manifestDigest]) {
      const res = await h.app.inject({ url: `/v1/images/${enc(key)}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(await conforms(h.app, 'GET', '/v1/images/{ref}', res), []);
      const d = res.json().item;
      assert.equal(d.digest, app.manifestDigest);
      assert.equal(d.media_type, 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual(d.layers.map((l: any) => l.digest), app.layers.map((l) => l.digest));
      assert.deepEqual(d.config, {
        entrypoint: ['sleep'],
        cmd: ['infinity'],
        env: ['PATH=/bin', 'MODE=api'],
        exposed_ports: ['53/udp', '8080/tcp'],
        volumes: ['/data'],
        healthcheck: { test: ['CMD', '/bin/check'], interval_ns: 5e9, timeout_ns: 2e9, start_period_ns: 1e9, start_interval_ns: 0, retries: 4 },
        user: '1000:1000',
        workdir: '/srv',
        labels: { 'org.example.team': 'hearth' },
        stop_signal: 'SIGQUIT',
      });
    }
    const missing = await h.app.inject({ url: `/v1/images/${enc(`${reg.host}/api/app:v9`)}` });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'HEARTH_ERR_IMAGE_NOT_FOUND');
    const bad = await h.app.inject({ url: '/v1/images/Upper' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.field, 'params/ref');
  });

  it("a container's pull shows in its events, in the stream's order", async () => {
    const id = await create(h.app, { name: 'puller', image: otherRef });
    await waitFor(h.app, id, 'running');
    const events = (await h.app.inject({ url: `/v1/containers/${id}/events` })).json().items;
    const pulls = events.filter((e: any) => e.type === 'pull').map((e: any) => e.message as string);
    assert.match(pulls[0]!, new RegExp(`^resolving ${otherRef}`));
    assert.match(pulls[1]!, /^127\.0\.0\.1:\d+\/api\/other:v1 is sha256:[a-f0-9]{64}: 1 layers, \d+ bytes$/);
    assert.match(pulls.at(-3)!, /^layer sha256:[a-f0-9]{64}: (\d+) of \1 bytes, verified$/);
    assert.match(pulls.at(-2)!, /^building the disk of sha256:/);
    assert.match(pulls.at(-1)!, /^image .*api\/other:v1 ready \(sha256:/);
    // all of it while creating, before the VM boots
    const booting = events.findIndex((e: any) => e.to_state === 'booting');
    assert.ok(events.findLastIndex((e: any) => e.type === 'pull') < booting);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('refuses to delete an image a container uses, naming it; force untags', async () => {
    const id = await create(h.app, { name: 'web', image: appRef });
    await waitFor(h.app, id, 'running');
    const listed = (await h.app.inject({ url: '/v1/images' })).json().items.find((i: any) => i.digest === app.manifestDigest);
    assert.deepEqual(listed.containers, [{ id, name: 'web' }]);
    for (const key of [appRef, app.manifestDigest]) {
      const res = await h.app.inject({ method: 'DELETE', url: `/v1/images/${enc(key)}` });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().error.code, 'HEARTH_ERR_IMAGE_IN_USE');
      assert.match(res.json().error.message, new RegExp(`container web \\(${id}\\)`));
    }
    const forced = await h.app.inject({ method: 'DELETE', url: `/v1/images/${enc(appRef)}?force=true` });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.deepEqual(forced.json(), { untagged: [appRef], digest: app.manifestDigest, freed_bytes: 0 });
    assert.ok(fs.existsSync(h.launcher.disks.at(-1)!.path), 'the running container keeps its disk');
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/images/${enc(appRef)}` })).statusCode, 404);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('prune frees the space of images no container uses, and keeps the ones used', async () => {
    const id = await create(h.app, { name: 'keeper', image: otherRef });
    await waitFor(h.app, id, 'running');
    await pullStream(appRef);
    const before = imageBytes(h.dir);
    const res = await h.app.inject({ method: 'POST', url: '/v1/images/prune' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/images/prune', res), []);
    const after = imageBytes(h.dir);
    const body = res.json();
    assert.deepEqual(body.removed, [{ digest: app.manifestDigest, references: [appRef] }]);
    assert.equal(body.removed_disks, 1);
    assert.equal(body.removed_blobs, 4, 'manifest, config, two layers');
    assert.ok(before - after >= app.layers[0]!.size, `measured ${before} -> ${after} bytes`);
    assert.ok(body.freed_bytes >= app.layers[0]!.size && body.freed_bytes <= before - after, `freed_bytes ${body.freed_bytes}, measured ${before - after}`);
    const left = (await h.app.inject({ url: '/v1/images' })).json().items;
    assert.deepEqual(left.map((i: any) => i.references), [[otherRef]]);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('the collector frees the space of an image once its last container is deleted', async () => {
    const c = await imageApp({ keepUnused: 0 });
    try {
      const id = await create(c.app, { name: 'last', image: otherRef });
      await waitFor(c.app, id, 'running');
      const before = imageBytes(c.dir);
      assert.equal((await c.app.inject({ url: '/v1/images' })).json().items.length, 1);
      await c.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      // keepUnused is 0 here: the collection the deletion starts removes the image
      const until = Date.now() + 10_000;
      while ((await c.app.inject({ url: '/v1/images' })).json().items.length > 0) {
        assert.ok(Date.now() < until, 'the collector did not remove the unused image');
        await new Promise((r) => setTimeout(r, 20));
      }
      await c.images.close(); // waits for the collection under way
      const after = imageBytes(c.dir);
      assert.ok(before - after > 256 * 1024, `measured ${before} -> ${after} bytes`);
      assert.deepEqual(fs.readdirSync(`${c.dir}/images/disks`), []);
      assert.deepEqual(fs.readdirSync(`${c.dir}/images/blobs/sha256`), []);
    } finally {
      await c.close();
    }
  });
});
