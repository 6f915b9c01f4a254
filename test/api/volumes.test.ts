/**
 * /v1/volumes and containers' volumes, on fake VMs and real volume disks: the routes and their shapes, what a
 * VM is given (disks, first use, order), the attachment rule (one read-write VM, or read-only ones, never
 * both), deletion refused while in use, anonymous volumes for the image's VOLUMEs going with their container,
 * and prune.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create, harness, IMAGES, waitFor, type Harness } from '../containers/harness.ts';
import { FakeImages } from '../containers/fakes.ts';
import { conforms } from './openapi-check.ts';

const rw = (name: string, container_path = '/data') => ({ name, container_path });
const ro = (name: string, container_path = '/data') => ({ name, container_path, readonly: true });

describe('volumes API', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ images: new FakeImages({ ...IMAGES, 'volumed:1': { cmd: ['sleep'], volumes: ['/var/lib/db', '/var/lib/db/sub/', '/cache'] } }) });
  });
  after(() => h.close());

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const res = await h.app.inject({ method, url, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined, res };
  };

  it('creates, lists, inspects and deletes a named volume; a taken or bad name is refused', async () => {
    const made = await call('POST', '/v1/volumes', { name: 'pgdata', size_mib: 64, labels: { app: 'db' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/volumes', made.res), []);
    assert.equal(made.res.headers.location, '/v1/volumes/pgdata');
    const item = made.body.item;
    assert.deepEqual([item.name, item.anonymous, item.size_mib, item.size_bytes, item.labels, item.initialized, item.containers], ['pgdata', false, 64, 64 * 2 ** 20, { app: 'db' }, false, []]);
    assert.ok(item.disk_bytes < 4 * 2 ** 20, `a new disk is sparse (${item.disk_bytes} bytes on the host)`);
    assert.equal((await call('POST', '/v1/volumes', { name: 'pgdata' })).body.error.code, 'HEARTH_ERR_VOLUME_EXISTS');
    const bad = await call('POST', '/v1/volumes', { name: '-x' });
    assert.deepEqual([bad.status, bad.body.error.field], [400, 'body/name']);
    assert.equal((await call('POST', '/v1/volumes', { name: 'small', size_mib: 1 })).status, 400);
    const list = await call('GET', '/v1/volumes');
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/volumes', list.res), []);
    assert.deepEqual(list.body.items.map((v: any) => v.name), ['pgdata']);
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/volumes/{name}', (await call('GET', '/v1/volumes/pgdata')).res), []);
    assert.equal((await call('DELETE', '/v1/volumes/pgdata')).status, 204);
    assert.equal((await call('GET', '/v1/volumes/pgdata')).body.error.code, 'HEARTH_ERR_VOLUME_NOT_FOUND');
    assert.equal(existsSync(join(h.dir, 'volumes', 'pgdata.ext4')), false, 'its disk is gone');
  });

  it('attaches a volume read-write to one VM, or read-only to several, never both; refuses deleting it while used', async () => {
    const writer = await create(h.app, { name: 'writer', image: 'sleeper:1', volumes: [rw('shared')] });
    await waitFor(h.app, writer, 'running');
    const vm = h.launcher.alive().at(-1)!;
    assert.deepEqual(vm.spec.volumes, [{ kind: 'disk', path: join(h.dir, 'volumes', 'shared.ext4'), target: '/data', readOnly: false, copyUp: true }]);
    assert.equal((await call('GET', '/v1/volumes/shared')).body.item.initialized, true, 'made on first use, filled by it');

    for (const volumes of [[rw('shared')], [ro('shared')]]) {
      const refused = await call('POST', '/v1/containers', { name: 'other', image: 'sleeper:1', volumes });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'HEARTH_ERR_VOLUME_IN_USE');
      assert.match(refused.body.error.message, /mounted read-write by container writer/);
    }
    const inUse = await call('DELETE', '/v1/volumes/shared');
    assert.deepEqual([inUse.status, inUse.body.error.code], [409, 'HEARTH_ERR_VOLUME_IN_USE']);

    assert.equal((await call('POST', `/v1/containers/${writer}/stop`)).status, 200);
    const readers = [await create(h.app, { name: 'r1', image: 'sleeper:1', volumes: [ro('shared')] }), await create(h.app, { name: 'r2', image: 'sleeper:1', volumes: [ro('shared', '/r')] })];
    for (const id of readers) await waitFor(h.app, id, 'running');
    assert.deepEqual(h.launcher.alive().map((v) => v.spec.volumes?.[0]).find((v) => v?.target === '/r'), { kind: 'disk', path: join(h.dir, 'volumes', 'shared.ext4'), target: '/r', readOnly: true, copyUp: false });
    const start = await call('POST', `/v1/containers/${writer}/start`);
    assert.deepEqual([start.status, start.body.error.code], [409, 'HEARTH_ERR_VOLUME_IN_USE'], 'no writer beside readers');
    const users = (await call('GET', '/v1/volumes/shared')).body.item.containers;
    assert.deepEqual(users.map((u: any) => [u.name, u.state, u.readonly]), [['writer', 'stopped', false], ['r1', 'running', true], ['r2', 'running', true]]);
    for (const id of [writer, ...readers]) assert.equal((await call('DELETE', `/v1/containers/${id}`)).status, 204);
    assert.equal((await call('DELETE', '/v1/volumes/shared')).status, 204);
  });

  it("gives each VOLUME of the image an anonymous volume, parents first, kept across starts and deleted with the container", async () => {
    const id = await create(h.app, { name: 'db', image: 'volumed:1', volumes: [rw('cache', '/cache')] });
    await waitFor(h.app, id, 'running');
    const targets = () => h.launcher.alive().at(-1)!.spec.volumes!.map((v) => v.target);
    assert.deepEqual(targets(), ['/cache', '/var/lib/db', '/var/lib/db/sub'], 'the named volume covers /cache; parents before children');
    const anonymous = (await call('GET', '/v1/volumes')).body.items.filter((v: any) => v.anonymous);
    assert.deepEqual(anonymous.map((v: any) => [v.anonymous_for, v.containers[0].container_path]).sort(), [[id, '/var/lib/db'], [id, '/var/lib/db/sub']]);
    assert.equal((await call('POST', `/v1/containers/${id}/restart`)).status, 200);
    await waitFor(h.app, id, 'running');
    assert.deepEqual(
      (await call('GET', '/v1/volumes')).body.items.filter((v: any) => v.anonymous).map((v: any) => v.name).sort(),
      anonymous.map((v: any) => v.name).sort(),
      'the same anonymous volumes after a restart',
    );
    assert.equal(h.launcher.alive().at(-1)!.spec.volumes!.every((v) => v.kind === 'disk' && !v.copyUp), true, 'already filled');
    assert.equal((await call('DELETE', `/v1/containers/${id}`)).status, 204);
    assert.deepEqual((await call('GET', '/v1/volumes')).body.items.map((v: any) => v.name), ['cache']);
    for (const v of anonymous) assert.equal(existsSync(join(h.dir, 'volumes', `${v.name}.ext4`)), false);
  });

  it('prunes every volume no container uses', async () => {
    await call('POST', '/v1/volumes', { name: 'unused', size_mib: 16 });
    const keeper = await create(h.app, { name: 'keeper', image: 'sleeper:1', volumes: [rw('kept')] });
    await waitFor(h.app, keeper, 'running');
    const pruned = await call('POST', '/v1/volumes/prune');
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/volumes/prune', pruned.res), []);
    assert.deepEqual(pruned.body.deleted.sort(), ['cache', 'unused']);
    assert.deepEqual((await call('GET', '/v1/volumes')).body.items.map((v: any) => v.name), ['kept']);
    assert.equal((await call('DELETE', `/v1/containers/${keeper}`)).status, 204);
  });

  it('still refuses a second writer after a manager restart reattached the first', async () => {
    const writer = await create(h.app, { name: 'holder', image: 'sleeper:1', volumes: [rw('held')] });
    await waitFor(h.app, writer, 'running');
    await h.close(false);
    h = await harness({ dir: h.dir, launcher: h.launcher, network: h.network, images: h.images });
    await waitFor(h.app, writer, 'running');
    const refused = await call('POST', '/v1/containers', { name: 'second', image: 'sleeper:1', volumes: [rw('held')] });
    assert.deepEqual([refused.status, refused.body.error?.code], [409, 'HEARTH_ERR_VOLUME_IN_USE']);
    assert.equal((await call('DELETE', `/v1/containers/${writer}`)).status, 204);
    assert.equal((await call('DELETE', '/v1/volumes/held')).status, 204);
  });

  it('mounts tmpfs entries with the volumes, parents first, with Docker\'s default options; an image VOLUME a tmpfs covers has no volume', async () => {
    const id = await create(h.app, {
      name: 'tmpfs',
      image: 'volumed:1',
      tmpfs: [{ container_path: '/var/lib/db/sub', options: 'size=1m' }, { container_path: '/cache', options: 'exec' }],
    });
    await waitFor(h.app, id, 'running');
    const launched = h.launcher.alive().at(-1)!.spec;
    assert.deepEqual(
      launched.volumes!.map((v) => [v.kind, v.target, v.kind === 'tmpfs' ? v.options : '']),
      [['tmpfs', '/cache', 'nosuid,nodev,exec'], ['disk', '/var/lib/db', ''], ['tmpfs', '/var/lib/db/sub', 'noexec,nosuid,nodev,size=1m']],
    );
    assert.equal(launched.process.capabilities, 0xa80425fb, "Docker's default capabilities");
    assert.equal((await call('DELETE', `/v1/containers/${id}?force=true`)).status, 204);
  });

  it('makes an entry with neither name nor host_path an anonymous volume of its own, deleted with the container', async () => {
    const id = await create(h.app, { name: 'anon', image: 'sleeper:1', volumes: [{ container_path: '/scratch/' }, { container_path: '/ro', readonly: true }] });
    await waitFor(h.app, id, 'running');
    const spec = h.launcher.alive().at(-1)!.spec.volumes!;
    assert.deepEqual(spec.map((v) => [v.kind, v.target, v.readOnly]), [['disk', '/scratch', false], ['disk', '/ro', true]]);
    const shown = (await call('GET', `/v1/containers/${id}`)).body.item.volumes;
    assert.deepEqual(shown, [{ name: null, host_path: null, container_path: '/scratch', readonly: false }, { name: null, host_path: null, container_path: '/ro', readonly: true }]);
    const anonymous = (await call('GET', '/v1/volumes')).body.items.filter((v: any) => v.anonymous_for === id);
    assert.deepEqual(anonymous.map((v: any) => v.containers[0].container_path).sort(), ['/ro', '/scratch']);
    assert.equal((await call('DELETE', `/v1/containers/${id}?force=true`)).status, 204);
    assert.deepEqual((await call('GET', '/v1/volumes')).body.items.filter((v: any) => v.anonymous_for === id), []);
    for (const v of anonymous) assert.equal(existsSync(join(h.dir, 'volumes', `${v.name}.ext4`)), false);
  });

  it('refuses an entry with both name and host_path, and two entries on one mount point', async () => {
    for (const [volumes, field] of [
      [[{ name: 'a1', host_path: '/tmp', container_path: '/x' }], 'body/volumes/0'],
      [[{ container_path: '/x' }, { container_path: '/x' }], 'body/volumes/1/container_path'],
      [[rw('a1', '/x'), rw('a2', '/x/')], 'body/volumes/1/container_path'],
      [[rw('a1', '/x'), rw('a1', '/y')], 'body/volumes/1/name'],
    ] as const) {
      const r = await call('POST', '/v1/containers', { name: 'bad', image: 'sleeper:1', volumes });
      assert.deepEqual([r.status, r.body.error.field], [400, field], JSON.stringify(r.body));
    }
  });
});
