/**
 * CPUs and memory per container, the OOM kill's record, and the stats route, through the API with the fakes:
 * what the item and the VM show, what the sandbox is asked for, the host's capacity, and the stats' shape,
 * stream and 4xx. The same in real VMs: test/e2e/resources.test.ts.
 */
import assert from 'node:assert/strict';
import { availableParallelism, totalmem } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { create, getItem, harness, waitFor, type Harness } from '../containers/harness.ts';
import { check, conforms, responseSchema } from './openapi-check.ts';

const vmOf = (h: Harness, item: { container_runtime_id: string }) => h.launcher.vms.get(item.container_runtime_id.slice(3))!;

describe('CPUs and memory', () => {
  let h: Harness;
  before(async () => (h = await harness({ config: { vm: { vcpus: 1, memoryMib: 128 } } })));
  after(() => h.close());

  it('gives the sandbox what the container asks for, and shows it on the item and the VM', async () => {
    const id = await create(h.app, { name: 'sized', image: 'sleeper:1', cpus: 1.5, memory_mib: 64 });
    const item = await waitFor(h.app, id, 'running');
    assert.deepEqual([item.cpus, item.memory_mib, item.oom_killed], [1.5, 64, false]);
    assert.deepEqual([vmOf(h, item).spec.cpus, vmOf(h, item).spec.memoryMib], [1.5, 64]);
    const vm = (await h.app.inject({ url: `/v1/vms/${item.container_runtime_id}` })).json().item;
    assert.deepEqual([vm.vcpus, vm.memory_mib], [2, 64 + 40 + 2], 'vCPUs rounded up; memory with the guest\'s own');
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it("takes the manager's settings when the request gives none", async () => {
    const id = await create(h.app, { name: 'defaults', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    assert.deepEqual([item.cpus, item.memory_mib], [1, 128]);
    assert.deepEqual([vmOf(h, item).spec.cpus, vmOf(h, item).spec.memoryMib], [1, 128]);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('refuses more than the host has, and values out of range, naming the field', async () => {
    const hostMib = Math.floor(totalmem() / 2 ** 20);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ cpus: availableParallelism() + 0.5 }, 'body/cpus', new RegExp(`needs ${availableParallelism() + 1} vCPUs; this host has ${availableParallelism()} CPUs`)],
      [{ memory_mib: hostMib }, 'body/memory_mib', new RegExp(`this host has ${hostMib} MiB`)],
      [{ cpus: 0 }, 'body/cpus', /must be >= 0.01|0\.01/],
      [{ cpus: 'two' }, 'body/cpus', /number/],
      [{ memory_mib: 5 }, 'body/memory_mib', /6/],
      [{ memory_mib: 64.5 }, 'body/memory_mib', /integer/],
    ];
    for (const [fields, field, message] of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'big', image: 'sleeper:1', ...fields } });
      assert.equal(res.statusCode, 400, JSON.stringify(fields));
      assert.equal(res.json().error.field, field);
      assert.match(res.json().error.message, message);
    }
    const exactly = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'all-cpus', image: 'ok:1', cpus: availableParallelism() } });
    assert.equal(exactly.statusCode, 201, 'as many vCPUs as the host has CPUs is fine');
    await waitFor(h.app, exactly.json().id, 'exited');
  });

  it('changes with PUT on a stopped container, checked the same way, used at the next start', async () => {
    const id = await create(h.app, { name: 'resized', image: 'sleeper:1', cpus: 1, memory_mib: 64 });
    await waitFor(h.app, id, 'running');
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    const over = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { cpus: availableParallelism() + 1 } });
    assert.equal(over.statusCode, 400);
    assert.equal(over.json().error.field, 'body/cpus');
    const put = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { cpus: 0.5 } });
    assert.equal(put.statusCode, 200);
    assert.deepEqual([put.json().item.cpus, put.json().item.memory_mib], [0.5, 64], 'memory_mib stays');
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    const item = await waitFor(h.app, id, 'running');
    assert.deepEqual([vmOf(h, item).spec.cpus, vmOf(h, item).spec.memoryMib], [0.5, 64]);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });
});

describe('an out-of-memory kill', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  it('is recorded with the exit (oom_killed), said in the event, and the restart policy applies', async () => {
    const id = await create(h.app, { name: 'oom', image: 'sleeper:1', args: ['oom'], restart_policy: 'on-failure', restart_max_retries: 1 });
    const first = await waitFor(h.app, id, 'exited', (i) => i.state === 'exited' && i.restart_count === 0);
    assert.deepEqual([first.exit_code, first.oom_killed], [137, true]);
    const exits = (await h.store.listEvents(id)).filter((e) => e.to_state === 'exited');
    assert.match(exits[0]!.message!, /exited with code 137 \(out of memory/);
    // on-failure restarts it once; the restart clears the flag until that run is killed too.
    const last = await waitFor(h.app, id, 'exited', (i) => i.state === 'exited' && i.restart_count === 1);
    assert.deepEqual([last.exit_code, last.oom_killed], [137, true]);
    const started = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.deepEqual([started.json().item.state, started.json().item.oom_killed], ['running', false], 'a new run starts without it');
  });

  it('is not claimed for an ordinary exit', async () => {
    const id = await create(h.app, { name: 'plain', image: 'fail:1' });
    const item = await waitFor(h.app, id, 'exited');
    assert.deepEqual([item.exit_code, item.oom_killed], [3, false]);
  });
});

describe('GET /v1/containers/{id}/stats', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  it("answers a running container's usage in the documented shape", async () => {
    const id = await create(h.app, { name: 'measured', image: 'sleeper:1', cpus: 0.5, memory_mib: 96 });
    await waitFor(h.app, id, 'running');
    const res = await h.app.inject({ url: `/v1/containers/${id}/stats` });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/containers/{id}/stats', res), []);
    const s = res.json().item;
    assert.deepEqual([s.cpu.usage_ns, s.cpu.user_ns, s.cpu.system_ns, s.cpu.guest_total_ns], [1_500_000, 1_000_000, 500_000, 10_000_000_000]);
    assert.deepEqual([s.cpu.limit_cpus, s.cpu.vcpus, s.cpu.online_cpus, s.cpu.host_ns], [0.5, 1, 1, 3e9]);
    assert.deepEqual([s.memory.limit_bytes, s.memory.vm_bytes, s.memory.host_private_bytes], [96 * 2 ** 20, (96 + 40 + 2) * 2 ** 20, 90 * 2 ** 20]);
    assert.deepEqual(s.block_io.map((d: any) => d.disk), ['rootfs', 'scratch']);
    assert.deepEqual([s.network.rx_bytes, s.network.tx_packets], [1000, 10]);
    assert.equal(s.pids.current, 1);
    assert.ok(Date.parse(s.read) <= Date.now());
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('streams a reading a second as NDJSON until the container stops', async () => {
    const id = await create(h.app, { name: 'streamed', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
    // Stopped once two readings have gone out (the second a second after the first).
    const stopper = setTimeout(() => void h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` }), 1500);
    const res = await h.app.inject({ url: `/v1/containers/${id}/stats?stream=true` });
    clearTimeout(stopper);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2, res.body);
    const schema = await responseSchema(h.app, 'GET', '/v1/containers/{id}/stats', 200, 'application/x-ndjson');
    for (const l of lines) assert.deepEqual(check(schema, l), []);
    assert.ok(lines[1].network.rx_bytes > lines[0].network.rx_bytes, 'each reading is a new one');
    assert.equal((await getItem(h.app, id)).state, 'stopped');
  });

  it('409 unless running, 404 unknown, 400 for a bad stream flag', async () => {
    const id = await create(h.app, { name: 'done', image: 'ok:1' });
    await waitFor(h.app, id, 'exited');
    const stopped = await h.app.inject({ url: `/v1/containers/${id}/stats` });
    assert.equal(stopped.statusCode, 409);
    assert.equal(stopped.json().error.code, 'HEARTH_ERR_CONTAINER_STATE');
    assert.equal((await h.app.inject({ url: `/v1/containers/${id}/stats?stream=true` })).statusCode, 409);
    assert.equal((await h.app.inject({ url: '/v1/containers/00000000-0000-4000-8000-000000000000/stats' })).statusCode, 404);
    const bad = await h.app.inject({ url: `/v1/containers/${id}/stats?stream=maybe` });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.field, 'querystring/stream');
  });
});
