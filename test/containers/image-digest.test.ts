/**
 * A container keeps the image its reference first resolved to (its record's `image_digest`), as Docker keeps
 * a container on its image ID: when the tag moves, its later starts boot the old image, on which its
 * writable layer was made. `PUT` with another image lets it go. Against FakeImages, where a reference given
 * another config has "moved"; the same against the real image store is in test/images/image-digest.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeImages } from './fakes.ts';
import { IMAGES, create, getItem, harness, waitFor, type Harness } from './harness.ts';

describe('a container keeps the image it resolved', () => {
  let h: Harness;
  let images: FakeImages;
  before(async () => {
    images = new FakeImages({ ...IMAGES, 'moving:v1': { cmd: ['sleep'], env: ['IMAGE=old'] }, 'other:v1': { cmd: ['sleep'], env: ['IMAGE=other'] } });
    h = await harness({ images });
  });
  after(async () => {
    await h?.close();
  });

  const envOf = (id: string, vmId: string) => {
    const vm = h.launcher.vms.get(vmId);
    assert.ok(vm, `a VM for ${id}`);
    return vm.spec.process.env;
  };
  const act = async (id: string, what: string) => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/${what}` });
    assert.equal(res.statusCode, 200, res.body);
  };

  it('records the digest, and starts again from it after the tag moved; PUT with another image lets it go', async () => {
    const id = await create(h.app, { name: 'pinned', image: 'moving:v1' });
    const first = await waitFor(h.app, id, 'running');
    assert.match(first.image_digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(images.kept.get(id), first.image_digest);
    const vmId = first.container_runtime_id.slice(3);
    assert.ok(envOf(id, vmId).includes('IMAGE=old'));
    await act(id, 'stop');

    images.images['moving:v1'] = { cmd: ['sleep'], env: ['IMAGE=new'] }; // the tag moves
    await act(id, 'start');
    const again = await waitFor(h.app, id, 'running');
    assert.equal(again.image_digest, first.image_digest, 'the same image');
    assert.ok(envOf(id, vmId).includes('IMAGE=old'), `booted the old image: ${envOf(id, vmId).join(' ')}`);
    assert.equal(images.calls.at(-1), `moving:v1@${first.image_digest}`, 'resolved by digest');
    await act(id, 'stop');

    const put = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { image: 'other:v1' } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().item.image_digest, null);
    assert.ok(images.released.includes(id), 'its hold on the old image is released');
    assert.equal(images.kept.get(id), undefined);
    await act(id, 'start');
    const other = await waitFor(h.app, id, 'running');
    assert.notEqual(other.image_digest, first.image_digest);
    assert.equal(images.kept.get(id), other.image_digest);
    assert.ok(envOf(id, vmId).includes('IMAGE=other'));

    // a PUT that keeps the image keeps the digest
    await act(id, 'stop');
    const same = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { args: ['x'] } });
    assert.equal(same.json().item.image_digest, other.image_digest);
    assert.equal((await getItem(h.app, id)).image_digest, other.image_digest);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('a policy restart boots the image it resolved, not the moved tag', async () => {
    images.images['flaky:v1'] = { cmd: ['exit', '3'], env: ['IMAGE=old'] };
    const id = await create(h.app, { name: 'flaky', image: 'flaky:v1', restart_policy: 'on-failure', restart_max_retries: 2 });
    const first = await waitFor(h.app, id, 'exited', (i) => i.restart_count === 0 && i.image_digest !== null);
    images.images['flaky:v1'] = { cmd: ['exit', '3'], env: ['IMAGE=new'] };
    const last = await waitFor(h.app, id, 'exited', (i) => i.restart_count === 2);
    assert.equal(last.image_digest, first.image_digest);
    assert.ok(images.calls.filter((c) => c === `flaky:v1@${first.image_digest}`).length >= 2, images.calls.join(' '));
    assert.ok(envOf(id, first.container_runtime_id.slice(3)).includes('IMAGE=old'));
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });
});
