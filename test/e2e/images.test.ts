/**
 * The image API on the real manager (main.ts's wiring: the store's usage from the containers in SQLite,
 * the collector started with the manager), real VMs and a real registry: a streamed pull, a container's
 * pull in its events, the 409 while a running container uses its image, the space prune and the
 * collector free on disk, and the image API's pulls and removals in /v1/events. Collections keep no unused image here (HEARTH_IMAGE_KEEP_UNUSED=0).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { imageBytes } from '../helpers/image-app.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

describe('images, end to end', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({ HEARTH_IMAGE_KEEP_UNUSED: '0' });
  });
  after(() => world?.close());

  const images = async () => (await world.api.call('GET', '/v1/images')).body.items as any[];

  it('pulls with progress, refuses to delete what a running container uses, prunes and collects', async () => {
    const stream = await world.api.call('POST', '/v1/images/pull', { image: 'busybox:latest' }, { accept: 'application/x-ndjson' });
    assert.equal(stream.status, 200, stream.text);
    const lines = stream.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { status: 'resolving', image: 'docker.io/library/busybox:latest' });
    assert.equal(lines.at(-2).status, 'building');
    assert.deepEqual(lines.at(-1), { status: 'done', image: 'docker.io/library/busybox:latest', digest: lines[1].digest });

    const id = await world.api.create({ name: 'sleeper', image: 'busybox', args: ['sleep', '600'] });
    await world.api.waitFor(id, ['running']);
    assert.deepEqual((await images()).map((i) => [i.references, i.containers]), [[['docker.io/library/busybox:latest'], [{ id, name: 'sleeper' }]]]);
    const refused = await world.api.call('DELETE', '/v1/images/busybox');
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.body.error.message, new RegExp(`container sleeper \\(${id}\\)`));

    // a container whose image is not here yet: its pull is in its events
    const hello = await world.api.create({ name: 'hello', image: 'hello-world:latest' });
    await world.api.waitFor(hello, ['exited']);
    const pulls = (await world.api.call('GET', `/v1/containers/${hello}/events`)).body.items.filter((e: any) => e.type === 'pull');
    assert.match(pulls[0].message, /^resolving docker\.io\/library\/hello-world:latest/);
    assert.match(pulls.at(-1).message, /^image docker\.io\/library\/hello-world:latest ready/);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${hello}`)).status, 204);

    // prune: what no container uses goes (hello-world, whose container is gone, if the collector has not
    // taken it already, and webapp, pulled for nothing), busybox stays
    assert.equal((await world.api.call('POST', '/v1/images/pull', { image: 'webapp' })).status, 200);
    const beforePrune = imageBytes(world.dataDir);
    const pruned = await world.api.call('POST', '/v1/images/prune');
    assert.equal(pruned.status, 200, pruned.text);
    assert.ok(pruned.body.removed.some((r: any) => r.references.includes('docker.io/library/webapp:latest')), pruned.text);
    const afterPrune = imageBytes(world.dataDir);
    assert.ok(afterPrune < beforePrune, `prune: ${beforePrune} -> ${afterPrune} bytes`);
    assert.deepEqual((await images()).map((i) => i.references), [['docker.io/library/busybox:latest']]);

    // the last container of busybox deleted: the collector that follows removes it
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    // The collector unlists an image first, then deletes its disk and blobs: wait for both.
    const until = Date.now() + 30_000;
    while ((await images()).length > 0 || imageBytes(world.dataDir) >= afterPrune) {
      assert.ok(Date.now() < until, `the collector did not remove busybox: ${afterPrune} -> ${imageBytes(world.dataDir)} bytes`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await assertNoLeaks(world);
  });

  it('records pulls (done or failed) and removals through the image API in /v1/events', async () => {
    const since = new Date().toISOString();
    assert.equal((await world.api.call('POST', '/v1/images/pull', { image: 'webapp' })).status, 200);
    const missing = await world.api.call('POST', '/v1/images/pull', { image: 'no-such-image:1' });
    assert.equal(missing.status, 404, missing.text);
    assert.equal((await world.api.call('DELETE', '/v1/images/webapp')).status, 200);
    const until = new Date().toISOString();
    const r = await world.api.call('GET', `/v1/events?since=${since}&until=${until}&type=image-pull,image-delete`, undefined, { accept: 'application/x-ndjson' });
    assert.equal(r.status, 200, r.text);
    const events = r.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      events.map((e) => [e.type, e.image, e.container_id]),
      [['image-pull', 'webapp', null], ['image-pull', 'no-such-image:1', null], ['image-delete', 'webapp', null]],
    );
    assert.match(events[0].message, /^pulled webapp \(sha256:[0-9a-f]{64}\)$/);
    assert.match(events[1].message, /^pull of no-such-image:1 failed: .*no-such-image/);
    assert.match(events[2].message, /^removed docker\.io\/library\/webapp:latest \(sha256:/);
    const forContainers = await world.api.call('GET', `/v1/events?since=${since}&until=${until}&container=${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`);
    assert.equal(forContainers.text, '', 'a container filter leaves image events out');
  });
});
