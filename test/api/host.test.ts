/**
 * `GET /v1/host` (the web UI's Host page) with the fake sandbox: the version from package.json, the
 * accelerator configured and the ones the VMs run with, the VM count, the containers by state, and the CPUs and
 * memory given to the containers that hold a VM, against the host's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { create, harness, waitFor, type Harness } from '../containers/harness.ts';
import { conforms } from './openapi-check.ts';

describe('GET /v1/host', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ config: { vm: { accel: 'tcg' } } });
  });
  after(() => h.close(true));

  const host = async () => {
    const res = await h.app.inject({ url: '/v1/host' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/host', res), []);
    return res.json().item;
  };

  it('counts the VMs and what they were given, against the host', async () => {
    const empty = await host();
    assert.equal(empty.version, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    assert.deepEqual([empty.vms, empty.containers, empty.accel.configured, empty.accel.in_use], [0, {}, 'tcg', []]);
    assert.deepEqual(empty.capacity, { cpus: availableParallelism(), memory_mib: Math.floor(totalmem() / 2 ** 20), allocated_cpus: 0, allocated_memory_mib: 0 });

    const a = await create(h.app, { name: 'a', image: 'sleeper:1', cpus: 0.5, memory_mib: 64 });
    const b = await create(h.app, { name: 'b', image: 'sleeper:1', cpus: 1 });
    await waitFor(h.app, a, 'running');
    await waitFor(h.app, b, 'running');
    await create(h.app, { name: 'ends', image: 'ok:1' }).then((id) => waitFor(h.app, id, 'exited'));
    const vms = (await h.app.inject({ url: '/v1/vms' })).json().items as Array<{ memory_mib: number; accel: string }>;
    const busy = await host();
    assert.equal(busy.vms, 2);
    assert.deepEqual(busy.containers, { running: 2, exited: 1 });
    assert.deepEqual(busy.accel.in_use, [...new Set(vms.map((v) => v.accel))].sort());
    assert.equal(busy.capacity.allocated_cpus, 1.5, 'the exited container holds no VM');
    assert.equal(busy.capacity.allocated_memory_mib, vms.reduce((n, v) => n + v.memory_mib, 0));
    assert.ok(busy.capacity.allocated_memory_mib > 64);
  });
});
