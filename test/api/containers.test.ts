import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingHeld, create, getItem, harness, waitFor, type Harness } from '../containers/harness.ts';
import { check, conforms, responseSchema } from './openapi-check.ts';
import { CONTAINER_STATES } from '../../src/model/index.ts';

const ITEM_KEYS = [
  'args', 'cap_add', 'cap_drop', 'container_id', 'container_runtime_id', 'cpus', 'created_at', 'dns', 'dns_options', 'dns_search', 'env_vars', 'error_message', 'exit_code', 'extra_hosts',
  'finished_at', 'guest_ip', 'health', 'healthcheck', 'hostname', 'id', 'image', 'image_digest', 'memory_mib', 'name', 'oom_killed',
  'port_mappings', 'privileged', 'restart_count', 'restart_max_retries', 'restart_policy', 'started_at', 'state', 'stdin_open', 'stop_signal', 'stop_timeout_s', 'tmpfs', 'tty',
  'updated_at', 'volumes',
];

describe('containers API', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  it('creates a container (201, Location) and runs it to completion, with the document fields', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/containers',
      payload: { name: 'hello-world', image: 'hello:latest', args: [], env_vars: {}, volumes: [], port_mappings: [], restart_policy: 'no' },
    });
    assert.equal(res.statusCode, 201);
    const { id } = res.json();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.location, `/v1/containers/${id}`);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers', res), []);

    const item = await waitFor(h.app, id, 'exited');
    assert.deepEqual(Object.keys(item).sort(), ITEM_KEYS);
    assert.equal(item.exit_code, 0);
    assert.match(item.container_runtime_id, /^vm-[0-9a-f-]{36}$/);
    assert.match(item.container_id, /^[0-9a-f]{64}$/);
    assert.equal(item.error_message, null);
    assert.ok(Date.parse(item.updated_at) >= Date.parse(item.created_at));
    const got = await h.app.inject({ url: `/v1/containers/${id}` });
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/containers/{id}', got), []);
    assertNothingHeld(h);
  });

  it('returns logs as JSON items, as text, filtered by stream, tail and since', async () => {
    const id = await create(h.app, { name: 'logs', image: 'hello:latest', args: ['echo', 'one', 'two'] });
    await waitFor(h.app, id, 'exited');
    const json = await h.app.inject({ url: `/v1/containers/${id}/logs` });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/containers/{id}/logs', json), []);
    assert.deepEqual(
      json.json().items.map((e: any) => [e.stream, e.message]),
      [['stdout', 'one two'], ['stderr', 'to stderr']],
    );
    const text = await h.app.inject({ url: `/v1/containers/${id}/logs`, headers: { accept: 'text/plain' } });
    assert.match(String(text.headers['content-type']), /^text\/plain/);
    assert.equal(text.body, 'one two\nto stderr\n');
    const stdout = await h.app.inject({ url: `/v1/containers/${id}/logs?format=text&stream=stdout&timestamps=true` });
    assert.match(stdout.body, /^\d{4}-\d\d-\d\dT[\d:.]+Z one two\n$/);
    const tail = await h.app.inject({ url: `/v1/containers/${id}/logs?tail=1` });
    assert.deepEqual(tail.json().items.map((e: any) => e.message), ['to stderr']);
    const future = await h.app.inject({ url: `/v1/containers/${id}/logs?since=${Math.floor(Date.now() / 1000) + 60}` });
    assert.deepEqual(future.json().items, []);
    const bad = await h.app.inject({ url: `/v1/containers/${id}/logs?since=yesterday` });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.field, 'querystring/since');
  });

  it('follows logs as NDJSON until the container stops', async () => {
    const id = await create(h.app, { name: 'follow', image: 'printer:1' });
    await waitFor(h.app, id, 'running');
    const stopper = setTimeout(() => void h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` }), 30);
    const res = await h.app.inject({ url: `/v1/containers/${id}/logs?follow=true` });
    clearTimeout(stopper);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.message), ['line1', 'line2', 'line3']);
    const schema = await responseSchema(h.app, 'GET', '/v1/containers/{id}/logs', 200, 'application/x-ndjson');
    for (const l of lines) assert.deepEqual(check(schema, l), []);
    assert.equal((await getItem(h.app, id)).state, 'stopped');
    // Following a container that is not running returns what there is and ends.
    const again = await h.app.inject({ url: `/v1/containers/${id}/logs?follow=true&format=text` });
    assert.equal(again.body, 'line1\nline2\nline3\n');
  });

  it('passes the image config and request to the VM the Docker way', async () => {
    const id = await create(h.app, {
      name: 'spec',
      image: 'sleeper:1',
      args: ['sleep', '--long'],
      env_vars: { FROM_IMAGE: 'overridden', EXTRA: 'x=y' },
    });
    const item = await waitFor(h.app, id, 'running');
    const vm = h.launcher.vms.get(item.container_runtime_id.slice(3))!;
    const p = vm.spec.process;
    assert.deepEqual(p.argv, ['sleep', '--long']);
    assert.deepEqual(p.env, ['PATH=/custom/bin', 'FROM_IMAGE=overridden', `HOSTNAME=${item.container_id.slice(0, 12)}`, 'EXTRA=x=y']);
    assert.equal(p.cwd, '/srv');
    assert.equal(p.hostname, item.container_id.slice(0, 12));
    assert.match(p.hosts, new RegExp(`^${item.guest_ip.replaceAll('.', '\\.')}\\t${p.hostname}$`, 'm'));
    assert.equal(p.resolvConf, 'nameserver 10.9.0.1\n');
    assert.equal(vm.spec.network?.guestIp, item.guest_ip);
    assert.equal(item.hostname, null);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('gives the guest the hostname asked for, in its process, /etc/hosts and execs', async () => {
    const id = await create(h.app, { name: 'named-host', image: 'sleeper:1', hostname: 'web1' });
    const item = await waitFor(h.app, id, 'running');
    assert.equal(item.hostname, 'web1');
    const p = h.launcher.vms.get(item.container_runtime_id.slice(3))!.spec.process;
    assert.equal(p.hostname, 'web1');
    assert.ok(p.env.includes('HOSTNAME=web1'), p.env.join(' '));
    assert.match(p.hosts, new RegExp(`^${item.guest_ip.replaceAll('.', '\\.')}\\tweb1$`, 'm'));
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=1` });
    const reset = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { hostname: null } });
    assert.equal(reset.json().item.hostname, null, 'null gives back the short id');
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('publishes a port on the address asked for; a port is held per address, as the kernel holds it', async () => {
    const local = await create(h.app, { name: 'on-lo1', image: 'sleeper:1', port_mappings: [{ container_port: 80, host_port: 3333, host_ip: '127.0.0.1' }] });
    const item = await waitFor(h.app, local, 'running');
    assert.deepEqual(item.port_mappings, [{ container_port: 80, host_port: 3333, protocol: 'tcp', host_ip: '127.0.0.1' }]);
    assert.deepEqual(h.network.ports.get('127.0.0.1:3333/tcp'), { hostIp: '127.0.0.1', hostPort: 3333, protocol: 'tcp', targetIp: item.guest_ip, targetPort: 80 });
    const other = await create(h.app, { name: 'on-lo2', image: 'sleeper:1', port_mappings: [{ container_port: 80, host_port: 3333, host_ip: '127.0.0.2' }] });
    await waitFor(h.app, other, 'running');
    for (const [name, mapping, held] of [
      ['again-lo1', { container_port: 81, host_port: 3333, host_ip: '127.0.0.1' }, '127.0.0.1:3333/tcp'],
      ['all', { container_port: 81, host_port: 3333, host_ip: '0.0.0.0' }, '127.0.0.1:3333/tcp'],
      ['default', { container_port: 81, host_port: 3333 }, '127.0.0.1:3333/tcp'],
    ] as const) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name, image: 'sleeper:1', port_mappings: [mapping] } });
      assert.equal(res.statusCode, 409, `${name}: ${res.body}`);
      assert.equal(res.json().error.field, 'body/port_mappings/0/host_port');
      assert.match(res.json().error.message, new RegExp(`by container on-lo1 \\(.*\\) as ${held.replaceAll('.', '\\.')}$`));
    }
    for (const id of [local, other]) await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('appends extra_hosts to /etc/hosts (host-gateway: the bridge) and replaces the name servers with dns', async () => {
    const id = await create(h.app, {
      name: 'hosts',
      image: 'sleeper:1',
      extra_hosts: [{ hostname: 'db.local', ip: '10.1.2.3' }, { hostname: 'host.docker.internal', ip: 'host-gateway' }],
      dns: ['10.9.9.9', '10.9.9.8'],
      dns_search: ['corp.example', 'example.com'],
      dns_options: ['ndots:2', 'edns0'],
    });
    const item = await waitFor(h.app, id, 'running');
    assert.deepEqual([item.extra_hosts.length, item.dns, item.dns_search, item.dns_options], [2, ['10.9.9.9', '10.9.9.8'], ['corp.example', 'example.com'], ['ndots:2', 'edns0']]);
    const vm = h.launcher.vms.get(item.container_runtime_id.slice(3))!;
    const gateway = vm.spec.network!.gateway;
    assert.deepEqual(vm.spec.process.hosts.trimEnd().split('\n').slice(-2), ['10.1.2.3\tdb.local', `${gateway}\thost.docker.internal`]);
    assert.equal(vm.spec.process.resolvConf, 'nameserver 10.9.9.9\nnameserver 10.9.9.8\nsearch corp.example example.com\noptions ndots:2 edns0\n');
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}?force=true` })).statusCode, 204);
    for (const [body, field] of [
      [{ extra_hosts: [{ hostname: 'db.local', ip: '10.1.2' }] }, 'body/extra_hosts/0/ip'],
      [{ extra_hosts: [{ hostname: 'ok', ip: '10.1.2.3' }, { hostname: 'bad name', ip: '10.1.2.3' }] }, 'body/extra_hosts/1/hostname'],
      [{ dns: ['10.9.9.9', 'resolver'] }, 'body/dns/1'],
      [{ dns_search: ['ok.example', 'not a domain'] }, 'body/dns_search/1'],
      [{ dns_search: Array.from({ length: 6 }, (_, i) => `${'d'.repeat(50)}${i}.example`) }, 'body/dns_search'],
      [{ dns_options: ['ndots:2', 'two words'] }, 'body/dns_options/1'],
      [{ stop_signal: 'SIGNOPE' }, 'body/stop_signal'],
      [{ stop_signal: '65' }, 'body/stop_signal'],
      [{ stop_timeout_s: -1 }, 'body/stop_timeout_s'],
    ] as const) {
      const r = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'badhosts', image: 'sleeper:1', ...body } });
      assert.deepEqual([r.statusCode, r.json().error.field], [400, field], r.body);
    }
  });

  it("stops with the image's StopSignal", async () => {
    const id = await create(h.app, { name: 'quits', image: 'quits:1' });
    await waitFor(h.app, id, 'running');
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.json().item.exit_code, 128 + 3);
    assert.equal(h.launcher.stops.at(-1)?.signal, 3);
    assert.equal(h.launcher.stops.at(-1)?.graceMs, 1000, 'the configured grace by default');
  });

  it('checks dns_options in the containers layer too (the Docker API does not go through the schema)', async () => {
    for (const [options, field] of [
      [['ndots:1\nnameserver 6.6.6.6'], 'body/dns_options/0'],
      [Array.from({ length: 17 }, () => 'edns0'), 'body/dns_options'],
    ] as const) {
      await assert.rejects(h.app.containers.create({ name: 'resolver', image: 'sleeper:1', dns_options: [...options] }), (e: any) => e.code === 'HEARTH_ERR_INVALID_ARGUMENT' && e.field === field);
    }
  });

  it('stops with its own stop_signal and stop_timeout_s over the image\'s and the manager\'s; a request\'s timeout wins', async () => {
    const id = await create(h.app, { name: 'ownstop', image: 'quits:1', stop_signal: 'usr1', stop_timeout_s: 7 });
    const item = await waitFor(h.app, id, 'running');
    assert.deepEqual([item.stop_signal, item.stop_timeout_s], ['usr1', 7]);
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.deepEqual([h.launcher.stops.at(-1)?.signal, h.launcher.stops.at(-1)?.graceMs], [10, 7000]);
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    await waitFor(h.app, id, 'running');
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=2` });
    assert.equal(h.launcher.stops.at(-1)?.graceMs, 2000);
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}?force=true` })).statusCode, 204);
  });

  it('lists containers, filtered by state', async () => {
    const id = await create(h.app, { name: 'lister', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
    const all = await h.app.inject({ url: '/v1/containers' });
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/containers', all), []);
    assert.ok(all.json().items.some((c: any) => c.id === id));
    const running = (await h.app.inject({ url: '/v1/containers?state=running' })).json().items;
    assert.deepEqual(running.map((c: any) => c.id), [id]);
    const bad = await h.app.inject({ url: '/v1/containers?state=sleeping' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.message, `querystring/state must be one of ${CONTAINER_STATES.join(', ')}`);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('stops, starts, restarts, updates and deletes', async () => {
    const id = await create(h.app, { name: 'cycle', image: 'sleeper:1', port_mappings: [{ container_port: 80, host_port: 18081 }] });
    const first = await waitFor(h.app, id, 'running');
    assert.deepEqual(h.network.ports.get('0.0.0.0:18081/tcp'), {
      hostIp: '0.0.0.0', hostPort: 18081, protocol: 'tcp', targetIp: first.guest_ip, targetPort: 80,
    });

    const put = await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { args: ['x'] } });
    assert.equal(put.statusCode, 409);
    assert.equal(put.json().error.code, 'HEARTH_ERR_CONTAINER_STATE');
    assert.match(put.json().error.message, /is running; stop it/);

    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=3` });
    assert.equal(stop.statusCode, 200);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers/{id}/stop', stop), []);
    assert.equal(stop.json().item.state, 'stopped');
    assert.equal(stop.json().item.exit_code, 143);
    assert.deepEqual(h.launcher.stops.at(-1), { id: first.container_runtime_id.slice(3), signal: 15, graceMs: 3000 });
    assert.equal(h.network.ports.size, 0, 'port forward closed on stop');
    assert.equal((await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` })).statusCode, 409);

    const upd = await h.app.inject({
      method: 'PUT',
      url: `/v1/containers/${id}`,
      payload: { env_vars: { A: '1' }, restart_policy: 'on-failure', port_mappings: [{ container_port: 80, host_port: 18082, protocol: 'udp' }] },
    });
    assert.equal(upd.statusCode, 200, upd.body);
    const u = upd.json().item;
    assert.deepEqual([u.env_vars, u.restart_policy, u.restart_max_retries, u.port_mappings, u.image], [
      { A: '1' }, 'on-failure', 3, [{ container_port: 80, host_port: 18082, protocol: 'udp', host_ip: null }], 'sleeper:1',
    ]);
    assert.equal((await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: {} })).statusCode, 400);

    const start = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(start.statusCode, 200);
    assert.equal(start.json().item.state, 'running');
    assert.ok(h.network.ports.has('0.0.0.0:18082/udp'));
    const again = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(again.statusCode, 409);
    assert.match(again.json().error.message, /already running/);

    const launched = h.launcher.launched;
    const restart = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/restart` });
    assert.equal(restart.statusCode, 200);
    assert.equal(restart.json().item.state, 'running');
    assert.equal(h.launcher.launched, launched + 1);
    assert.equal(h.launcher.alive().length, 1);

    const del = await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
    assert.equal(del.statusCode, 204);
    assert.equal((await h.app.inject({ url: `/v1/containers/${id}` })).statusCode, 404);
    assertNothingHeld(h);
  });

  it('shows VMs by uuid and by container_runtime_id', async () => {
    const id = await create(h.app, { name: 'vmview', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    const uuid = item.container_runtime_id.slice(3);
    const res = await h.app.inject({ url: `/v1/vms/${uuid}` });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/vms/{id}', res), []);
    const vm = res.json().item;
    // The container's 256 MiB (the default) and the guest's own: 40 MiB and 2% of it.
    assert.deepEqual([vm.id, vm.container_id, vm.state, vm.guest_ip, vm.vcpus, vm.memory_mib, vm.vmm, vm.accel], [
      uuid, id, 'running', item.guest_ip, 1, 256 + 40 + 6, 'qemu', 'tcg',
    ]);
    assert.equal((await h.app.inject({ url: `/v1/vms/${item.container_runtime_id}` })).json().item.id, uuid);
    const list = await h.app.inject({ url: '/v1/vms' });
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/vms', list), []);
    assert.ok(list.json().items.some((v: any) => v.id === uuid));
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    const gone = await h.app.inject({ url: `/v1/vms/${uuid}` });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error.code, 'HEARTH_ERR_VM_NOT_FOUND');
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('records every transition as an event', async () => {
    const id = await create(h.app, { name: 'evented', image: 'ok:1' });
    await waitFor(h.app, id, 'exited');
    const res = await h.app.inject({ url: `/v1/containers/${id}/events` });
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/containers/{id}/events', res), []);
    const items = res.json().items.filter((e: any) => e.type === 'state');
    assert.deepEqual(items.map((e: any) => [e.from_state, e.to_state]), [
      [null, 'creating'], ['creating', 'booting'], ['booting', 'initializing'], ['initializing', 'running'], ['running', 'exited'],
    ]);
    for (const e of items) assert.ok(!Number.isNaN(Date.parse(e.time)));
  });

  it('reports provisioning failures in the item and releases what was taken', async () => {
    const cases: Array<[string, RegExp]> = [
      ['nosuch:1', /image "nosuch:1" not found/],
      ['nocmd:1', /no command specified/],
      ['bad:1', /the process could not start: exec badexec: not found/],
    ];
    for (const [image, message] of cases) {
      const id = await create(h.app, { name: `fail-${image.replace(':', '-')}`, image });
      const item = await waitFor(h.app, id, 'error');
      assert.match(item.error_message, message);
      assertNothingHeld(h);
    }
  });

  it('rejects duplicate names and host ports taken by another container with 409', async () => {
    await create(h.app, { name: 'taken', image: 'ok:1', port_mappings: [{ container_port: 1, host_port: 2222 }] });
    const dup = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'taken', image: 'ok:1' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'HEARTH_ERR_NAME_IN_USE');
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers', dup), []);
    const port = await h.app.inject({
      method: 'POST',
      url: '/v1/containers',
      payload: { name: 'other', image: 'ok:1', port_mappings: [{ container_port: 5, host_port: 2222, protocol: 'tcp' }] },
    });
    assert.equal(port.statusCode, 409);
    assert.equal(port.json().error.code, 'HEARTH_ERR_PORT_IN_USE');
    assert.equal(port.json().error.field, 'body/port_mappings/0/host_port');
    const udp = await h.app.inject({
      method: 'POST',
      url: '/v1/containers',
      payload: { name: 'other-udp', image: 'ok:1', port_mappings: [{ container_port: 5, host_port: 2222, protocol: 'udp' }] },
    });
    assert.equal(udp.statusCode, 201, 'the same port number over udp is another port');
  });

  it('answers 404 for unknown ids on every container route', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const routes: Array<[string, string, object?]> = [
      ['GET', `/v1/containers/${id}`],
      ['PUT', `/v1/containers/${id}`, { args: [] }],
      ['DELETE', `/v1/containers/${id}`],
      ['POST', `/v1/containers/${id}/start`],
      ['POST', `/v1/containers/${id}/stop`],
      ['POST', `/v1/containers/${id}/restart`],
      ['GET', `/v1/containers/${id}/logs`],
      ['GET', `/v1/containers/${id}/logs?follow=true`],
      ['GET', `/v1/containers/${id}/events`],
      ['GET', `/v1/vms/${id}`],
    ];
    for (const [method, url, payload] of routes) {
      const res = await h.app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) });
      assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      assert.match(res.json().error.code, /^HEARTH_ERR_(CONTAINER|VM)_NOT_FOUND$/);
      assert.match(res.json().error.message, new RegExp(id));
    }
    const route = await h.app.inject({ url: '/v2/nothing' });
    assert.equal(route.statusCode, 404);
    assert.equal(route.json().error.code, 'HEARTH_ERR_ROUTE_NOT_FOUND');
  });
});

describe('request validation', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ config: { bodyLimit: 64 * 1024 } });
  });
  after(() => h.close());

  const base = { name: 'valid', image: 'nginx:alpine' };
  const cases: Array<[string, unknown, string, string]> = [
    ['missing name', { image: 'nginx' }, 'body/name', 'body/name is required'],
    ['unknown restart policy', { ...base, restart_policy: 'sometimes' }, 'body/restart_policy', 'body/restart_policy must be one of no, always, on-failure'],
    ['name of the wrong type', { ...base, name: 5 }, 'body/name', 'body/name must be a string'],
    ['empty name', { ...base, name: '' }, 'body/name', 'body/name must not be empty'],
    ['name with a slash', { ...base, name: 'a/b' }, 'body/name', 'body/name must start with a letter or digit and contain only letters, digits, "_", "." and "-"'],
    ['oversize name', { ...base, name: 'a'.repeat(129) }, 'body/name', 'body/name must be at most 128 characters'],
    ['bad image reference', { ...base, image: 'NGINX' }, 'body/image', 'body/image must be an image reference such as nginx:alpine or registry.example.com/team/app@sha256:<digest>'],
    ['args not an array', { ...base, args: 'ls -l' }, 'body/args', 'body/args must be an array'],
    ['arg of the wrong type', { ...base, args: ['ls', 1] }, 'body/args/1', 'body/args/1 must be a string'],
    ['too many args', { ...base, args: Array(1025).fill('x') }, 'body/args', 'body/args must have at most 1024 items'],
    ['env value not a string', { ...base, env_vars: { A: 1 } }, 'body/env_vars/A', 'body/env_vars/A must be a string'],
    ['env name with =', { ...base, env_vars: { 'A=B': 'c' } }, 'body/env_vars', 'body/env_vars has an invalid variable name "A=B": it must be non-empty and contain no "=" or NUL'],
    ['env value with NUL', { ...base, env_vars: { A: 'x\u0000y' } }, 'body/env_vars/A', 'body/env_vars/A must not contain NUL characters'],
    ['port 0', { ...base, port_mappings: [{ container_port: 0, host_port: 80 }] }, 'body/port_mappings/0/container_port', 'body/port_mappings/0/container_port must be an integer from 1 to 65535'],
    ['port 70000', { ...base, port_mappings: [{ container_port: 80, host_port: 70000 }] }, 'body/port_mappings/0/host_port', 'body/port_mappings/0/host_port must be an integer from 1 to 65535'],
    ['port as a string', { ...base, port_mappings: [{ container_port: '80', host_port: 80 }] }, 'body/port_mappings/0/container_port', 'body/port_mappings/0/container_port must be an integer'],
    ['unknown protocol', { ...base, port_mappings: [{ container_port: 80, host_port: 80, protocol: 'sctp' }] }, 'body/port_mappings/0/protocol', 'body/port_mappings/0/protocol must be one of tcp, udp'],
    ['host port twice', { ...base, port_mappings: [{ container_port: 80, host_port: 80 }, { container_port: 81, host_port: 80 }] }, 'body/port_mappings/1/host_port', 'body/port_mappings/1/host_port 80/tcp is mapped more than once'],
    ['host port twice on overlapping addresses', { ...base, port_mappings: [{ container_port: 80, host_port: 80, host_ip: '0.0.0.0' }, { container_port: 81, host_port: 80, host_ip: '127.0.0.1' }] }, 'body/port_mappings/1/host_port', 'body/port_mappings/1/host_port 127.0.0.1:80/tcp is mapped more than once (also as 0.0.0.0:80/tcp)'],
    ['host_ip not IPv4', { ...base, port_mappings: [{ container_port: 80, host_port: 80, host_ip: '::1' }] }, 'body/port_mappings/0/host_ip', 'body/port_mappings/0/host_ip must be an IPv4 address such as 127.0.0.1 (0.0.0.0: every address)'],
    ['host_ip out of range', { ...base, port_mappings: [{ container_port: 80, host_port: 80, host_ip: '127.0.0.256' }] }, 'body/port_mappings/0/host_ip', 'body/port_mappings/0/host_ip must be an IPv4 address such as 127.0.0.1 (0.0.0.0: every address)'],
    ['hostname with an underscore', { ...base, hostname: 'web_1' }, 'body/hostname', 'body/hostname must be 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123)'],
    ['hostname ending in a hyphen', { ...base, hostname: 'web-' }, 'body/hostname', 'body/hostname must be 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123)'],
    ['hostname of 64 characters', { ...base, hostname: 'a'.repeat(64) }, 'body/hostname', 'body/hostname must be 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123)'],
    ['missing container_port', { ...base, port_mappings: [{ host_port: 80 }] }, 'body/port_mappings/0/container_port', 'body/port_mappings/0/container_port is required'],
    ['relative volume path', { ...base, volumes: [{ host_path: 'data', container_path: '/data' }] }, 'body/volumes/0/host_path', 'body/volumes/0/host_path must be an absolute path'],
    ['readonly not boolean', { ...base, volumes: [{ host_path: '/d', container_path: '/d', readonly: 'yes' }] }, 'body/volumes/0/readonly', 'body/volumes/0/readonly must be true or false'],
    ['retries with always', { ...base, restart_policy: 'always', restart_max_retries: 3 }, 'body/restart_max_retries', 'body/restart_max_retries can only be used with restart_policy on-failure (not always)'],
    ['negative retries', { ...base, restart_policy: 'on-failure', restart_max_retries: -1 }, 'body/restart_max_retries', 'body/restart_max_retries must be an integer from 0 to 1000000 or null'],
    ['unknown field', { ...base, memory: '1g' }, 'body/memory', 'body/memory is not a known field'],
    ['body not an object', [1, 2], 'body', 'body must be an object'],
  ];
  for (const [what, payload, field, message] of cases) {
    it(`400 for ${what}`, async () => {
      const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: payload as object });
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(res.json(), { error: { code: 'HEARTH_ERR_INVALID_ARGUMENT', message, field } });
    });
  }

  it('400 for malformed JSON, 413 for an oversize body, 415 for another media type', async () => {
    const bad = await h.app.inject({ method: 'POST', url: '/v1/containers', headers: { 'content-type': 'application/json' }, payload: '{"name": ' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'HEARTH_ERR_INVALID_ARGUMENT');
    const big = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { ...base, args: ['x'.repeat(70 * 1024)] } });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'HEARTH_ERR_PAYLOAD_TOO_LARGE');
    const xml = await h.app.inject({ method: 'POST', url: '/v1/containers', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    assert.equal(xml.statusCode, 415);
    assert.equal(xml.json().error.code, 'HEARTH_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('400 for bad query parameters', async () => {
    const id = await create(h.app, { name: 'q', image: 'ok:1' });
    const tail = await h.app.inject({ url: `/v1/containers/${id}/logs?tail=abc` });
    assert.equal(tail.statusCode, 400);
    assert.equal(tail.json().error.message, 'querystring/tail must be an integer');
    const timeout = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=-1` });
    assert.equal(timeout.statusCode, 400);
    assert.equal(timeout.json().error.field, 'querystring/timeout');
    const stream = await h.app.inject({ url: `/v1/containers/${id}/logs?stream=stdin` });
    assert.equal(stream.json().error.message, 'querystring/stream must be one of stdout, stderr');
  });

  it('400 for a path id that cannot be an id, on every route that takes one', async () => {
    for (const [method, url] of [
      ['GET', '/v1/containers/%00'],
      ['GET', '/v1/containers/a%00b/logs'],
      ['POST', '/v1/containers/a.b/stop'],
      ['DELETE', '/v1/containers/%E2%98%83'],
      ['GET', '/v1/vms/vm-%00'],
    ] as const) {
      const res = await h.app.inject({ method, url });
      assert.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`);
      assert.equal(res.json().error.field, 'params/id');
    }
  });

  it('400 for a since outside the range of dates', async () => {
    const id = (await h.app.inject({ url: '/v1/containers' })).json().items[0].id;
    for (const since of ['99999999999999999', '8640000000001']) {
      const res = await h.app.inject({ url: `/v1/containers/${id}/logs?since=${encodeURIComponent(since)}` });
      assert.equal(res.statusCode, 400, `${since}: ${res.body}`);
      assert.equal(res.json().error.field, 'querystring/since');
    }
  });

  it('nothing was created by the rejected requests', async () => {
    const names = (await h.app.inject({ url: '/v1/containers' })).json().items.map((c: any) => c.name);
    assert.deepEqual(names, ['q']);
  });
});

describe('service routes', () => {
  it('serves /health, /openapi.json and /docs', async () => {
    const h = await harness();
    try {
      const health = await h.app.inject({ url: '/health' });
      assert.deepEqual(health.json(), { status: 'ok' });
      const doc = (await h.app.inject({ url: '/openapi.json' })).json();
      assert.equal(doc.openapi, '3.0.3');
      for (const p of ['/v1/containers', '/v1/containers/{id}', '/v1/containers/{id}/logs', '/v1/containers/{id}/start', '/v1/containers/{id}/stop', '/v1/containers/{id}/restart', '/v1/vms', '/v1/vms/{id}']) {
        assert.ok(doc.paths[p], `${p} in the document`);
      }
      // The request schema in the document is the one that validates.
      const body = doc.paths['/v1/containers'].post.requestBody.content['application/json'].schema;
      assert.deepEqual(body.properties.restart_policy.enum, ['no', 'always', 'on-failure']);
      assert.deepEqual(body.required, ['name', 'image']);
      const docs = await h.app.inject({ url: '/docs/' });
      assert.equal(docs.statusCode, 200);
      assert.match(docs.body, /swagger/i);
    } finally {
      await h.close();
    }
  });
});
