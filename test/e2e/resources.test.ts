/**
 * CPUs, memory and stats through the real manager and real VMs: `nproc` is the vCPUs, a process over
 * `memory_mib` is OOM-killed (137, `oom_killed`) while the VM, its agent and the manager go on and the restart
 * policy applies, and the stats follow a busy loop, a 100 MB allocation and traffic through a port mapping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WEBAPP_PAGE } from '../helpers/app-images.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { freePort } from '../helpers/registry.ts';

await enterTestNetns(import.meta.url);

const MB = 1_000_000;
const sh = (script: string) => ['sh', '-c', script];

describe('CPUs, memory and stats, end to end', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({ HEARTH_RESTART_BACKOFF_INITIAL_MS: '50' });
  });
  after(async () => {
    await world?.close();
  });

  /** Runs a command in a container through the exec API, to its end. */
  async function exec(id: string, cmd: string[], detach = false): Promise<{ exit_code: number; output: { stdout: string; stderr: string } }> {
    const created = await world.api.call('POST', `/v1/containers/${id}/exec`, { cmd });
    assert.equal(created.status, 201, created.text);
    const started = await world.api.call('POST', `/v1/exec/${created.body.id}/start`, { detach });
    assert.equal(started.status, 200, started.text);
    return started.body;
  }

  async function stats(id: string): Promise<any> {
    const r = await world.api.call('GET', `/v1/containers/${id}/stats`);
    assert.equal(r.status, 200, r.text);
    return r.body.item;
  }

  async function running(body: Record<string, unknown>): Promise<string> {
    const id = await world.api.create(body);
    const item = await world.api.waitFor(id, ['running', 'exited', 'error']);
    assert.equal(item.state, 'running', item.error_message);
    return id;
  }

  it('shows as many CPUs inside as vCPUs: nproc is 2 for cpus 2, 1 for cpus 1', async () => {
    for (const cpus of [2, 1]) {
      const id = await running({ name: `cpus-${cpus}`, image: 'busybox:latest', args: sh('sleep 100000'), cpus });
      const item = await world.api.get(id);
      assert.equal(item.cpus, cpus);
      const vm = await world.api.call('GET', `/v1/vms/${item.container_runtime_id}`);
      assert.equal(vm.body.item.vcpus, cpus);
      const nproc = await exec(id, ['nproc']);
      assert.equal(nproc.output.stdout.trim(), String(cpus));
      assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    }
  });

  it('OOM-kills a command over memory_mib 64 with 137; the VM, its agent and the manager go on', async () => {
    const id = await running({ name: 'oom-exec', image: 'busybox:latest', args: sh('sleep 100000'), memory_mib: 64 });
    const hog = await exec(id, sh('head -c 200m /dev/zero | tail'));
    assert.equal(hog.exit_code, 137);
    assert.equal((await exec(id, ['echo', 'still here'])).output.stdout, 'still here\n', 'execs work after it');
    const s = await stats(id);
    assert.deepEqual([s.memory.oom_kills, s.memory.limit_bytes], [1, 64 * 2 ** 20]);
    const item = await world.api.get(id);
    assert.equal(item.state, 'running');
    assert.equal((await world.api.call('GET', '/health')).status, 200);
    // The main process's end carries the kill of its run, as Docker's OOMKilled does.
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/stop`)).status, 200);
    assert.equal((await world.api.get(id)).oom_killed, true);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('ends a main process allocating 200 MB at memory_mib 64 with 137 and oom_killed, and on-failure restarts it', async () => {
    const id = await world.api.create({
      name: 'oom-main',
      image: 'busybox:latest',
      args: sh('echo allocating; head -c 200m /dev/zero | tail'),
      memory_mib: 64,
      restart_policy: 'on-failure',
      restart_max_retries: 1,
    });
    const deadline = Date.now() + 180_000;
    let item = await world.api.get(id);
    while (!(item.state === 'exited' && item.restart_count === 1)) {
      assert.ok(Date.now() < deadline, JSON.stringify(item));
      assert.notEqual(item.state, 'error', item.error_message);
      await new Promise((r) => setTimeout(r, 200));
      item = await world.api.get(id);
    }
    assert.deepEqual([item.exit_code, item.oom_killed, item.memory_mib], [137, true, 64]);
    assert.equal((await world.api.logs(id)).filter((l) => l.message === 'allocating').length, 2, 'restarted once by the policy');
    const events = (await world.api.call('GET', `/v1/containers/${id}/events`)).body.items;
    const exits = events.filter((e: any) => e.to_state === 'exited');
    assert.equal(exits.length, 2);
    for (const e of exits) assert.match(e.message, /code 137 \(out of memory/);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('stats follow a busy loop, a 100 MB allocation and traffic through a port mapping', async () => {
    const hostPort = await freePort();
    const id = await running({ name: 'measured', image: 'webapp:latest', memory_mib: 256, port_mappings: [{ container_port: 80, host_port: hostPort }] });

    // CPU: the container's share of the guest's CPU time, over a busy loop and over as long idle.
    const share = (a: any, b: any) => (b.cpu.usage_ns - a.cpu.usage_ns) / (b.cpu.guest_total_ns - a.cpu.guest_total_ns);
    const s0 = await stats(id);
    const started = Date.now();
    assert.equal((await exec(id, sh('i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'))).exit_code, 0);
    const busyMs = Date.now() - started;
    const s1 = await stats(id);
    await new Promise((r) => setTimeout(r, busyMs));
    const s2 = await stats(id);
    const busy = share(s0, s1);
    const idle = share(s1, s2);
    assert.ok(busy > 0.5 && idle < busy / 10, `busy ${busy}, idle ${idle}`);
    assert.ok(s1.cpu.host_ns > s0.cpu.host_ns, "the VMM's host CPU time grew too");

    // Memory: a process that holds 100 MB (dd's buffer, filled, while it waits to write it to a pipe nobody reads).
    const before = (await stats(id)).memory.usage_bytes;
    await exec(id, sh('dd if=/dev/zero bs=100M count=1 2>/dev/null | sleep 100000'), true);
    let held = 0;
    for (const deadline = Date.now() + 60_000; held < 100 * MB && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      held = (await stats(id)).memory.usage_bytes - before;
    }
    assert.ok(held >= 100 * MB, `usage grew by ${held} bytes`);

    // Network: 20 pages through the host port, each counted in the tap's bytes and packets both ways.
    const n0 = (await stats(id)).network;
    for (let i = 0; i < 20; i++) assert.equal(await (await fetch(`http://127.0.0.1:${hostPort}/`)).text(), WEBAPP_PAGE);
    const n1 = (await stats(id)).network;
    assert.ok(n1.tx_bytes - n0.tx_bytes >= 20 * WEBAPP_PAGE.length, `sent ${n1.tx_bytes - n0.tx_bytes} bytes`);
    assert.ok(n1.rx_bytes - n0.rx_bytes >= 20 * 'GET / HTTP/1.1'.length, `received ${n1.rx_bytes - n0.rx_bytes} bytes`);
    assert.ok(n1.rx_packets - n0.rx_packets >= 20 && n1.tx_packets - n0.tx_packets >= 20);

    // The stream: one reading per line, each a new one.
    const aborted = new AbortController();
    const res = await fetch(`${world.api.url}/v1/containers/${id}/stats?stream=true`, { signal: aborted.signal });
    assert.match(String(res.headers.get('content-type')), /application\/x-ndjson/);
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (text.split('\n').length > 2) break;
    }
    aborted.abort();
    const [first, second] = text.split('\n').slice(0, 2).map((l) => JSON.parse(l));
    assert.ok(Date.parse(second.read) > Date.parse(first.read));
    assert.ok(second.cpu.guest_total_ns > first.cpu.guest_total_ns);

    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});
