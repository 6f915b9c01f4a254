/**
 * Settings the API must refuse or clean before they are stored: args and env_vars that could never reach
 * the guest in one RUN message (create and update, naming the field), over-long variable names, and
 * volume paths with `..` in them. Through `inject`, with the default 1 MiB body limit.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create, harness, waitFor, type Harness } from '../containers/harness.ts';

const bodyBytes = (o: unknown) => Buffer.byteLength(JSON.stringify(o));

describe('limits the API enforces', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  it("refuses the adversarial test's create: under the body limit, over the guest's RUN message (body/args)", async () => {
    const body = { name: 'too-big', image: 'sleeper:1', args: Array.from({ length: 1024 }, () => 'a'.repeat(1015)), env_vars: { BIG: 'e'.repeat(2800) } };
    assert.ok(bodyBytes(body) < 1024 * 1024, `the body (${bodyBytes(body)} bytes) is under the body limit`);
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: body });
    assert.equal(res.statusCode, 400, res.body);
    const { error } = res.json();
    assert.equal(error.code, 'HEARTH_ERR_INVALID_ARGUMENT');
    assert.equal(error.field, 'body/args');
    assert.match(error.message, /^body\/args is too large for the guest: args \(1045504 bytes\), env_vars \(2810 bytes\), volumes \(0 bytes\) and tmpfs \(0 bytes\) take 1048314 bytes of the guest's RUN message.* a container may use 1015808 /);
  });

  it('counts extra_hosts and dns in the same room: args that fit alone do not fit beside 256 long host names', async () => {
    const args = Array.from({ length: 990 }, () => 'a'.repeat(1000));
    const extra_hosts = Array.from({ length: 256 }, (_, i) => ({ hostname: `${'h'.repeat(60)}.${'h'.repeat(34)}.n${i}`, ip: '10.1.2.3' }));
    const alone = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'fits-alone', image: 'sleeper:1', args } });
    assert.equal(alone.statusCode, 201, alone.body);
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'does-not', image: 'sleeper:1', args, extra_hosts, dns: ['10.9.9.9'] } });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.field, 'body/args');
    assert.match(res.json().error.message, /for the entrypoint, user, working_dir, extra_hosts and dns/);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${alone.json().id}?force=true` });
  });

  it('names body/env_vars when the variables take most of the room', async () => {
    const env_vars = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`V${i}`, 'v'.repeat(26_000)]));
    const body = { name: 'env-heavy', image: 'sleeper:1', args: ['sleep'], env_vars };
    assert.ok(bodyBytes(body) < 1024 * 1024);
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: body });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.field, 'body/env_vars');
  });

  it('accepts about 1 MB of args that fit (1000 of 1000 bytes) and hands them to the VM unchanged', async () => {
    const args = ['sleep', ...Array.from({ length: 999 }, (_, i) => String(i).padEnd(1000, 'x'))];
    const body = { name: 'fits', image: 'sleeper:1', args };
    assert.ok(bodyBytes(body) > 1_000_000);
    const id = await create(h.app, body);
    const item = await waitFor(h.app, id, 'running');
    assert.deepEqual(h.launcher.vms.get(item.container_runtime_id.slice(3))!.spec.process.argv, args);
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
  });

  it('refuses an update whose result would not fit, naming the field it gives', async () => {
    const id = await create(h.app, { name: 'updated', image: 'sleeper:1', args: ['sleep', 'a'.repeat(30_000)] });
    await waitFor(h.app, id, 'running');
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    const bigArgs = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { args: Array.from({ length: 1024 }, () => 'a'.repeat(1000)) } });
    assert.equal(bigArgs.statusCode, 400, bigArgs.body);
    assert.equal(bigArgs.json().error.field, 'body/args');
    // The variables fit on their own; with the stored args they do not, and they are what this update gives.
    const env_vars = Object.fromEntries(Array.from({ length: 38 }, (_, i) => [`V${i}`, 'v'.repeat(26_000)]));
    const bigEnv = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { env_vars } });
    assert.equal(bigEnv.statusCode, 400, bigEnv.body);
    assert.equal(bigEnv.json().error.field, 'body/env_vars');
    const ok = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { args: ['sleep'], env_vars } });
    assert.equal(ok.statusCode, 200, 'the same variables fit beside shorter args');
  });

  it('refuses an environment variable name over 1024 characters', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'long-name', image: 'sleeper:1', env_vars: { ['N'.repeat(5000)]: 'x' } } });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual([res.json().error.field, res.json().error.message], [
      'body/env_vars',
      'body/env_vars has a variable name of 5000 characters ("NNNNNNNNNNNNNNNNNNNN"...): at most 1024',
    ]);
    const id = await create(h.app, { name: 'max-name', image: 'ok:1', env_vars: { ['N'.repeat(1024)]: 'x' } });
    await waitFor(h.app, id, 'exited'); // a name of exactly 1024 characters is fine
    const upd = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { env_vars: { ['N'.repeat(1025)]: 'x' } } });
    assert.equal(upd.statusCode, 400, upd.body);
    assert.equal(upd.json().error.field, 'body/env_vars');
  });

  it('stores volume paths cleaned as Docker cleans them, and refuses / as the destination', async () => {
    // Host directories must exist (they are shared when the container starts).
    mkdirSync(join(h.dir, 'keys'));
    mkdirSync(join(h.dir, 'srv/a/b'), { recursive: true });
    const volumes = [
      { host_path: `/../..${h.dir}/keys`, container_path: '/data/./x/../keys/' },
      { host_path: `/${h.dir}//srv//a/b/..`, container_path: '/mnt/..//mnt/b', readonly: true },
    ];
    const id = await create(h.app, { name: 'volumes', image: 'ok:1', volumes });
    const item = await waitFor(h.app, id, 'exited');
    assert.deepEqual(item.volumes, [
      { name: null, host_path: `${h.dir}/keys`, container_path: '/data/keys', readonly: false },
      { name: null, host_path: `${h.dir}/srv/a`, container_path: '/mnt/b', readonly: true },
    ]);
    const upd = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { volumes: [{ host_path: '/a/../../etc/', container_path: '/c/.' }] } });
    assert.equal(upd.statusCode, 200, upd.body);
    assert.deepEqual(upd.json().item.volumes, [{ name: null, host_path: '/etc', container_path: '/c', readonly: false }]);
    for (const container_path of ['/', '/..', '/a/..', '//']) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'rootvol', image: 'ok:1', volumes: [{ host_path: '/h', container_path }] } });
      assert.equal(res.statusCode, 400, `${container_path}: ${res.body}`);
      assert.equal(res.json().error.field, 'body/volumes/0/container_path');
    }
  });

  it('nothing was stored by the refused requests', async () => {
    const names = (await h.app.inject({ url: '/v1/containers' })).json().items.map((c: any) => c.name).sort();
    assert.deepEqual(names, ['fits', 'max-name', 'updated', 'volumes']);
  });
});
