import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FakeImages, Gate } from './fakes.ts';
import { IMAGES, assertNothingHeld, create, getItem, harness, states, waitFor, type Harness } from './harness.ts';

let h: Harness;
afterEach(() => h?.close());

describe('restart policies', () => {
  it('always: restarts after every exit, with the count visible, until the user stops it', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'always', image: 'ok:1', restart_policy: 'always' });
    const item = await waitFor(h.app, id, 'any', (i) => i.restart_count >= 3);
    assert.equal(item.container_runtime_id, `vm-${[...h.launcher.vms.keys()][0]}`, 'one VM id for the container');
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.statusCode, 200);
    assert.equal(stop.json().item.state, 'stopped');
    const launched = h.launcher.launched;
    await sleep(40); // several backoff periods (5-20 ms)
    assert.equal(h.launcher.launched, launched, 'no restart after a user stop');
    assert.equal((await getItem(h.app, id)).state, 'stopped');
    assertNothingHeld(h);
  });

  it('always: stopping a running container is not undone by the policy', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'always-running', image: 'sleeper:1', restart_policy: 'always' });
    await waitFor(h.app, id, 'running');
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.json().item.state, 'stopped');
    await sleep(50);
    assert.equal(h.launcher.launched, 1);
    const item = await getItem(h.app, id);
    assert.deepEqual([item.state, item.restart_count], ['stopped', 0]);
    assertNothingHeld(h);
  });

  it('on-failure: restarts after a non-zero exit up to restart_max_retries, then stays exited', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'flaky', image: 'fail:1', restart_policy: 'on-failure', restart_max_retries: 2 });
    const item = await waitFor(h.app, id, 'exited', (i) => i.state === 'exited' && i.restart_count === 2);
    assert.equal(item.exit_code, 3);
    await sleep(40);
    assert.equal(h.launcher.launched, 3, 'the first run and two restarts');
    assert.equal((await getItem(h.app, id)).restart_count, 2);
    const events = await h.store.listEvents(id);
    assert.equal(events.filter((e) => e.type === 'restart-scheduled').length, 2);
    assertNothingHeld(h);
  });

  it('on-failure without a limit takes the configured default', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'default-limit', image: 'fail:1', restart_policy: 'on-failure' });
    assert.equal((await getItem(h.app, id)).restart_max_retries, 3);
    await waitFor(h.app, id, 'exited', (i) => i.state === 'exited' && i.restart_count === 3);
    await sleep(40);
    assert.equal(h.launcher.launched, 4);
  });

  it('on-failure does not restart after exit 0; no never restarts', async () => {
    h = await harness();
    const a = await create(h.app, { name: 'clean', image: 'ok:1', restart_policy: 'on-failure' });
    const b = await create(h.app, { name: 'never', image: 'fail:1', restart_policy: 'no' });
    await waitFor(h.app, a, 'exited');
    await waitFor(h.app, b, 'exited');
    await sleep(40);
    assert.equal(h.launcher.launched, 2);
    assert.equal((await getItem(h.app, a)).restart_count, 0);
  });

  it('a VM that dies without an exit status is an error, and always restarts it', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'crashy', image: 'crash:1', restart_policy: 'always' });
    await waitFor(h.app, id, 'any', (i) => i.restart_count >= 1);
    const s = await states(h, id);
    assert.ok(s.includes('error'), s.join(','));
    const ev = (await h.store.listEvents(id)).find((e) => e.to_state === 'error');
    assert.equal(ev?.message, 'the VM ended without reporting an exit status');
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
  });

  it('backs off exponentially up to the cap', async () => {
    h = await harness({ config: { restart: { backoffInitialMs: 5, backoffMaxMs: 20, backoffResetMs: 10_000, onFailureMaxRetries: 0 } } });
    const id = await create(h.app, { name: 'backoff', image: 'fail:1', restart_policy: 'on-failure' });
    await waitFor(h.app, id, 'any', (i) => i.restart_count >= 4);
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    const delays = (await h.store.listEvents(id))
      .filter((e) => e.type === 'restart-scheduled')
      .map((e) => Number(/in (\d+) ms/.exec(e.message!)![1]));
    assert.deepEqual(delays.slice(0, 4), [5, 10, 20, 20]);
  });

  it('a user start during a pending restart starts now and resets the count', async () => {
    h = await harness({ config: { restart: { backoffInitialMs: 60_000, backoffMaxMs: 60_000, backoffResetMs: 10_000, onFailureMaxRetries: 3 } } });
    const id = await create(h.app, { name: 'pending', image: 'fail:1', restart_policy: 'always' });
    await waitFor(h.app, id, 'exited');
    const start = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(start.statusCode, 200, start.body);
    assert.equal(h.launcher.launched, 2);
    // A stop while the next restart is pending cancels it.
    await waitFor(h.app, id, 'exited');
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.statusCode, 200);
    assert.equal(stop.json().item.state, 'stopped');
    assert.equal((await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` })).statusCode, 409);
  });
});

describe('commands racing a self-exit', () => {
  /** Makes the VM exit by itself and returns once its end is being accounted for (releasing it takes a while). */
  async function exitSlowly(h: Harness, vmId: string): Promise<void> {
    const vm = h.launcher.vms.get(vmId)!;
    const release = vm.release.bind(vm);
    let releasing!: () => void;
    const reached = new Promise<void>((r) => (releasing = r));
    vm.release = async () => {
      releasing();
      await sleep(30);
      return release();
    };
    vm.finish({ code: 1, signal: null });
    await reached;
  }

  it('a stop that arrives while a self-exit is being accounted for ends stopped, and the policy leaves it so', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'race-stop', image: 'sleeper:1', restart_policy: 'always' });
    const item = await waitFor(h.app, id, 'running');
    await exitSlowly(h, item.container_runtime_id.slice(3));
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.statusCode, 200, stop.body);
    assert.equal(stop.json().item.state, 'stopped');
    await sleep(50); // several backoff periods
    const after = await getItem(h.app, id);
    assert.deepEqual([after.state, after.restart_count], ['stopped', 0]);
    assert.equal(h.launcher.launched, 1);
    assertNothingHeld(h);
  });
});

describe('stale records', () => {
  it("a leftover row of the container's own VM does not block a start; what it recorded is released", async () => {
    h = await harness();
    const id = await create(h.app, { name: 'stale-row', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    const vmId = item.container_runtime_id.slice(3);
    const now = new Date().toISOString();
    await h.store.insertVm({
      id: vmId, container_id: id, state: 'running', pid: 4242, vcpus: 1, memory_mib: 256, vmm: 'qemu', accel: 'tcg',
      guest_ip: '10.9.0.77', prefix_length: 24, gateway: '10.9.0.1', tap: 'hth77', mac: '02:00:00:00:00:4d',
      created_at: now, updated_at: now,
    });
    h.network.taps.set('hth77', vmId);
    h.network.addresses.set('10.9.0.77', vmId);
    const start = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(start.json().item.state, 'running', start.body);
    assert.ok(!h.network.taps.has('hth77') && !h.network.addresses.has('10.9.0.77'), 'the stale tap and address were released');
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
    assertNothingHeld(h);
  });
});

describe('provisioning steps', () => {
  it('a step that takes too long fails the container with a timeout and releases everything', async () => {
    h = await harness({ config: { timeouts: { imageMs: 5000, networkMs: 5000, bootMs: 5000, startMs: 200, stopGraceMs: 1000 } } });
    const id = await create(h.app, { name: 'hangs', image: 'hang:1' });
    const item = await waitFor(h.app, id, 'error');
    assert.equal(item.error_message, 'starting the process timed out after 200 ms');
    assertNothingHeld(h);
  });

  it('a port that cannot be forwarded fails the container and releases everything', async () => {
    h = await harness();
    h.network.busyPorts.add(9999);
    const id = await create(h.app, { name: 'busy', image: 'sleeper:1', port_mappings: [{ container_port: 1, host_port: 9998 }, { container_port: 2, host_port: 9999 }] });
    const item = await waitFor(h.app, id, 'error');
    assert.match(item.error_message, /cannot forward host port 9999\/tcp: host port 9999 \(.+:9999\/tcp\) is already in use/);
    assertNothingHeld(h);
  });

  it('a launch failure is reported and the run directory purged', async () => {
    h = await harness();
    h.launcher.failLaunch = 'qemu-system-x86_64 exited with 1: no kernel';
    const id = await create(h.app, { name: 'nolaunch', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'error');
    assert.equal(item.error_message, 'qemu-system-x86_64 exited with 1: no kernel');
    assert.deepEqual([...new Set(h.launcher.purged)], [item.container_runtime_id.slice(3)]);
    assertNothingHeld(h);
  });

  it('a launch that outlives its timeout (and the wait after it) is undone when it finally returns', async () => {
    h = await harness({ config: { timeouts: { imageMs: 2000, networkMs: 2000, bootMs: 30, startMs: 5000, stopGraceMs: 1000 } } });
    h.launcher.launchGate = new Gate();
    const id = await create(h.app, { name: 'slowboot', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'error');
    assert.equal(item.error_message, 'booting the VM timed out after 30 ms');
    assert.equal(h.launcher.launched, 0);
    h.launcher.launchGate.open();
    while (h.launcher.launched === 0 || h.launcher.runDirs.size > 0) await sleep(2);
    assertNothingHeld(h);
  });
});

describe('delete and stop from every state', () => {
  type Setup = (h: Harness) => Promise<{ id: string; release?: () => void }>;
  const hold = (what: 'image' | 'network' | 'launch'): Setup => async (h) => {
    const gate = new Gate();
    if (what === 'image') h.images.gate = gate;
    if (what === 'network') h.network.attachGate = gate;
    if (what === 'launch') h.launcher.launchGate = gate;
    const id = await create(h.app, { name: `held-${what}`, image: 'sleeper:1', port_mappings: [{ container_port: 80, host_port: 8080 }] });
    while (gate.reached === 0) await sleep(1);
    return { id, release: () => gate.open() };
  };
  const reach = (image: string, state: string, ok?: (i: any) => boolean): Setup => async (h) => {
    const id = await create(h.app, { name: `at-${state}`, image, port_mappings: [{ container_port: 80, host_port: 8080 }] });
    await waitFor(h.app, id, state, ok);
    return { id };
  };
  const setups: Array<[string, Setup]> = [
    ['creating (pulling the image)', hold('image')],
    ['creating (setting up the network)', hold('network')],
    ['booting', hold('launch')],
    ['initializing', reach('hang:1', 'initializing')],
    ['running', reach('sleeper:1', 'running')],
    ['exited', reach('ok:1', 'exited')],
    ['error', reach('nosuch:1', 'error')],
  ];

  for (const [state, setup] of setups) {
    it(`delete while ${state} releases everything`, async () => {
      h = await harness({ images: new FakeImages(IMAGES) });
      const { id, release } = await setup(h);
      const del = h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      // The held step finishes late (as a real pull or boot would); what it took must still be given back.
      setTimeout(() => release?.(), 10);
      assert.equal((await del).statusCode, 204);
      await h.app.containers.idle();
      assert.equal((await h.app.inject({ url: `/v1/containers/${id}` })).statusCode, 404);
      assert.deepEqual(await h.store.listVms(), []);
      assertNothingHeld(h);
    });
  }

  for (const [state, setup] of setups.slice(0, 5)) {
    it(`stop while ${state} ends stopped and releases everything`, async () => {
      h = await harness({ images: new FakeImages(IMAGES) });
      const { id, release } = await setup(h);
      const stop = h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      setTimeout(() => release?.(), 10);
      const res = await stop;
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().item.state, 'stopped');
      await h.app.containers.idle();
      assert.equal((await getItem(h.app, id)).state, 'stopped');
      assertNothingHeld(h);
    });
  }

  it('delete of a stopped container, then its logs are gone', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'bye', image: 'hello:latest' });
    await waitFor(h.app, id, 'exited');
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` })).statusCode, 204);
    assert.equal((await h.app.inject({ url: `/v1/containers/${id}/logs` })).statusCode, 404);
    const again = await create(h.app, { name: 'bye', image: 'ok:1' });
    assert.deepEqual((await h.app.inject({ url: `/v1/containers/${again}/logs` })).json().items, [], 'the name is free and no old logs show');
  });
});

describe('guest diagnostics', () => {
  it("the guest agent's log lines reach the manager's log with the container and VM ids", async () => {
    const lines: string[] = [];
    const h = await harness({ logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }) });
    try {
      const id = await create(h.app, { name: 'chatty-agent', image: 'sleeper:1' });
      const item = await waitFor(h.app, id, 'running');
      const vmId = item.container_runtime_id.slice(3);
      h.launcher.vms.get(vmId)!.emit('log', 'control channel reopened');
      const entry = lines.map((l) => JSON.parse(l)).find((e) => e.msg === 'guest agent: control channel reopened');
      assert.ok(entry, lines.join(''));
      assert.deepEqual([entry.container, entry.vm], [id, vmId]);
    } finally {
      await h.close();
    }
  });
});
