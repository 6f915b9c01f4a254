/**
 * A manager restart: the same SQLite file and the same "host" (fake launcher and network, whose VMs, run
 * directories and taps outlive the app), a fresh app instance.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthError } from '../../src/errors.ts';
import { ContainerStore } from '../../src/store/container-store.ts';
import { FakeImages, FakeLauncher, FakeNetwork, Gate } from './fakes.ts';
import { IMAGES, assertNothingHeld, create, getItem, harness, states, waitFor, type Harness } from './harness.ts';

/** Closes `h` as a manager shutdown would and starts a new app on the same data and host. */
async function restart(h: Harness, images = h.images): Promise<Harness> {
  await h.close(false);
  h.network.restartProcess();
  return harness({ dir: h.dir, launcher: h.launcher, network: h.network, images });
}

/**
 * A manager killed with SIGKILL: it writes nothing more (its store is closed under it; the old app object is
 * left as it was) and a new app starts on the same data and host.
 */
async function crash(h: Harness, config?: Record<string, unknown>): Promise<Harness> {
  await h.store.close();
  h.network.restartProcess();
  return harness({ dir: h.dir, launcher: h.launcher, network: h.network, ...(config ? { config } : {}) });
}

describe('recovery after a manager restart', () => {
  it('reattaches to a VM that still runs: same VM, ports reopened, logs continue, stop works', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'survivor', image: 'printer:1', port_mappings: [{ container_port: 80, host_port: 8088 }] });
    const before = await waitFor(h1.app, id, 'running');
    await waitFor(h1.app, id, 'running', () => h1.launcher.vms.values().next().value!.started);
    const h2 = await restart(h1);
    try {
      assert.equal(h2.launcher.launched, 1, 'no new VM');
      const after = await getItem(h2.app, id);
      assert.equal(after.state, 'running');
      assert.equal(after.container_runtime_id, before.container_runtime_id);
      assert.equal(h2.network.ports.get('0.0.0.0:8088/tcp')?.targetIp, before.guest_ip, 'port forward reopened');
      assert.ok(h2.network.addresses.has(before.guest_ip), 'address reserved again');
      const vm = h2.launcher.vms.get(before.container_runtime_id.slice(3))!;
      vm.emit('output', { stream: 'stdout', timestamp: new Date(), data: Buffer.from('after restart\n') });
      const logs = (await h2.app.inject({ url: `/v1/containers/${id}/logs?format=text` })).body;
      assert.equal(logs, 'line1\nline2\nline3\nafter restart\n', 'logs from before the restart survive and new ones append');
      const stop = await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      assert.equal(stop.json().item.state, 'stopped');
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('a VM that died while the manager was down: error recorded, everything released, policy applied', async () => {
    const h1 = await harness();
    const a = await create(h1.app, { name: 'dead', image: 'sleeper:1' });
    const b = await create(h1.app, { name: 'dead-always', image: 'sleeper:1', restart_policy: 'always' });
    const ia = await waitFor(h1.app, a, 'running');
    const ib = await waitFor(h1.app, b, 'running');
    await h1.close(false);
    for (const vm of h1.launcher.alive()) vm.finish(null);
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network });
    try {
      const da = await getItem(h2.app, a);
      assert.equal(da.state, 'error');
      assert.equal(da.error_message, 'the VM ended while the manager was not running');
      assert.ok(h2.launcher.purged.includes(ia.container_runtime_id.slice(3)), 'run directory purged');
      assert.ok(!h2.network.taps.has(`hth${ia.guest_ip.split('.')[3]}`), 'tap deleted');
      const db = await waitFor(h2.app, b, 'running', (i) => i.state === 'running' && i.restart_count === 1);
      assert.equal(db.container_runtime_id, ib.container_runtime_id);
      await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${b}` });
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('resumes provisioning that a shutdown interrupted', async () => {
    const images = new FakeImages(IMAGES);
    images.gate = new Gate();
    const h1 = await harness({ images });
    const id = await create(h1.app, { name: 'interrupted', image: 'sleeper:1' });
    while (images.gate.reached === 0) await sleep(1);
    const h2 = await restart(h1, new FakeImages(IMAGES));
    try {
      await waitFor(h2.app, id, 'running');
      const msgs = (await h2.store.listEvents(id)).map((e) => e.message);
      assert.ok(msgs.includes('provisioning resumed after a manager restart'), msgs.join(' | '));
      assert.equal(h2.launcher.alive().length, 1);
      await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      assertNothingHeld(h2);
    } finally {
      images.gate.open();
      await h2.close();
    }
  });

  it('a container the user stopped stays stopped, whatever its policy', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'stay', image: 'sleeper:1', restart_policy: 'always' });
    await waitFor(h1.app, id, 'running');
    await h1.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    const h2 = await restart(h1);
    try {
      await sleep(30);
      assert.equal((await getItem(h2.app, id)).state, 'stopped');
      assert.equal(h2.launcher.launched, 1);
    } finally {
      await h2.close();
    }
  });

  it('removes VMs, run directories and taps nobody owns', async () => {
    const launcher = new FakeLauncher();
    const network = new FakeNetwork();
    // Left behind by a crashed manager: a VM still running, a run directory of a dead one, a tap.
    const orphan = await launcher.launch({
      id: 'orphan-vm',
      rootfs: { path: '/x', fsType: 'ext4' },
      process: { argv: ['sleep'], env: [], cwd: '/', user: '', hostname: 'x', hosts: '' },
      cpus: 1,
      memoryMib: 64,
    });
    launcher.runDirs.add('dead-vm');
    network.taps.set('hth99', 'nobody');
    const h = await harness({ launcher, network });
    try {
      assert.equal((orphan as any).alive, false, 'orphan VM killed');
      assert.deepEqual(launcher.purged.sort(), ['dead-vm', 'orphan-vm']);
      assertNothingHeld(h);
      assert.ok(network.log.includes('deleteTap hth99'));
    } finally {
      await h.close();
    }
  });
  it('a user stop cut short by a manager crash (SIGKILL in the grace period) stays stopped', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'stopping', image: 'sleeper:1', restart_policy: 'always' });
    const item = await waitFor(h1.app, id, 'running');
    const vmId = item.container_runtime_id.slice(3);
    const vm = h1.launcher.vms.get(vmId)!;
    vm.stop = () => new Promise(() => {}); // the process takes its whole grace period
    void h1.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=30` });
    while ((await h1.store.getVm(vmId))?.state !== 'stopping') await sleep(2);
    assert.equal((await h1.store.getContainer(id))?.desired_state, 'stopped', 'the stop is recorded before the VM is signalled');
    const h2 = await crash(h1);
    try {
      await sleep(30);
      const after = await getItem(h2.app, id);
      assert.deepEqual([after.state, after.restart_count], ['stopped', 0]);
      assert.equal(h2.launcher.launched, 1, 'the policy did not start it again');
      assert.equal(vm.alive, false, 'the VM being stopped was killed');
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('a VM found stopping is not wanted, even if the container row still says running', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'stopping-old', image: 'sleeper:1', restart_policy: 'always' });
    const item = await waitFor(h1.app, id, 'running');
    const vmId = item.container_runtime_id.slice(3);
    h1.launcher.vms.get(vmId)!.stop = () => new Promise(() => {});
    void h1.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=30` });
    while ((await h1.store.getVm(vmId))?.state !== 'stopping') await sleep(2);
    await h1.store.close();
    // As a manager that wrote the stop only on the VM row left it.
    const db = await ContainerStore.openSqlite(join(h1.dir, 'hearth.db'));
    await db.updateContainer(id, { desired_state: 'running' });
    await db.close();
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network });
    try {
      await sleep(30);
      const after = await getItem(h2.app, id);
      assert.deepEqual([after.state, after.restart_count, after.guest_ip], ['stopped', 0, null]);
      assert.equal((await h2.store.getContainer(id))?.desired_state, 'stopped');
      assert.equal(h2.launcher.launched, 1);
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('a restart pending after a VM crash (state error) is re-armed after a manager restart', async () => {
    const config = { restart: { backoffInitialMs: 200, backoffMaxMs: 200, backoffResetMs: 10_000, onFailureMaxRetries: 3 } };
    const h1 = await harness({ config });
    const id = await create(h1.app, { name: 'crash-pending', image: 'crash:1', restart_policy: 'on-failure' });
    await waitFor(h1.app, id, 'error');
    await h1.app.containers.idle();
    assert.equal((await h1.store.listEvents(id)).at(-1)?.type, 'restart-scheduled');
    await h1.close(false);
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network, config });
    try {
      await waitFor(h2.app, id, 'restarted', (i) => i.restart_count >= 1, 2000);
      assert.ok(h2.launcher.launched >= 2);
    } finally {
      await h2.close();
    }
  });

  it('a provisioning failure (state error, no restart scheduled) is not retried after a manager restart', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'no-image', image: 'nosuch:1', restart_policy: 'always' });
    await waitFor(h1.app, id, 'error');
    const h2 = await restart(h1);
    try {
      await sleep(50);
      const after = await getItem(h2.app, id);
      assert.deepEqual([after.state, after.restart_count], ['error', 0]);
    } finally {
      await h2.close();
    }
  });

  it('a VM that does not answer is reported unresponsive, kept, and running again once it answers', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'silent', image: 'sleeper:1', port_mappings: [{ container_port: 80, host_port: 8099 }] });
    const item = await waitFor(h1.app, id, 'running');
    const vmId = item.container_runtime_id.slice(3);
    await h1.close(false);
    h1.network.restartProcess();
    h1.launcher.adoptFailures.set(vmId, new HearthError('Unavailable', 'HEARTH_ERR_AGENT_UNRESPONSIVE', 'the guest agent did not answer'));
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network, config: { timeouts: { recoveryRetryMs: 50 } } });
    try {
      const silent = await getItem(h2.app, id);
      assert.deepEqual([silent.state, silent.guest_ip], ['unresponsive', item.guest_ip], 'reported as what it is, its address kept');
      assert.equal(h2.launcher.vms.get(vmId)!.alive, true, 'not killed for being silent');
      assert.equal(h2.network.ports.get('0.0.0.0:8099/tcp')?.targetIp, item.guest_ip, 'its port forward stays');
      h2.launcher.adoptFailures.delete(vmId);
      const back = await waitFor(h2.app, id, 'running');
      assert.equal(back.container_runtime_id, item.container_runtime_id, 'the same VM');
      assert.equal(h2.launcher.launched, 1);
      const stop = await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      assert.equal(stop.json().item.state, 'stopped');
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('a paused VM is reported paused; stop and delete end it, whatever it answers', async () => {
    const h1 = await harness();
    const ids = [await create(h1.app, { name: 'paused-a', image: 'sleeper:1' }), await create(h1.app, { name: 'paused-b', image: 'sleeper:1' })];
    const vmIds = [];
    for (const id of ids) vmIds.push((await waitFor(h1.app, id, 'running')).container_runtime_id.slice(3));
    const h2 = await crash(h1);
    await h2.close(false);
    h2.network.restartProcess();
    for (const vm of vmIds) h2.launcher.adoptFailures.set(vm, new HearthError('Unavailable', 'HEARTH_ERR_VMM_PAUSED', 'its VMM is stopped by a signal'));
    const h3 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network });
    try {
      for (const id of ids) assert.equal((await getItem(h3.app, id)).state, 'paused');
      const events = (await h3.store.listEvents(ids[0]!)).map((e) => e.to_state).filter(Boolean);
      assert.deepEqual(events.slice(-2), ['recovering', 'paused']);
      const stop = await h3.app.inject({ method: 'POST', url: `/v1/containers/${ids[0]}/stop` });
      assert.equal(stop.json().item.state, 'stopped');
      const del = await h3.app.inject({ method: 'DELETE', url: `/v1/containers/${ids[1]}` });
      assert.equal(del.statusCode, 204);
      for (const vm of vmIds) assert.equal(h3.launcher.vms.get(vm)!.alive, false, 'its VMM was ended');
      assertNothingHeld(h3);
    } finally {
      await h3.close();
    }
  });

  it('delete ends a VMM that no record accounts for any more', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'forgotten', image: 'sleeper:1' });
      const item = await waitFor(h.app, id, 'running');
      const vmId = item.container_runtime_id.slice(3);
      await h.store.deleteVm(vmId);
      const del = await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      assert.equal(del.statusCode, 204);
      assert.equal(h.launcher.vms.get(vmId)!.alive, false);
    } finally {
      await h.close();
    }
  });

  it('a process that exited while the manager was down is recorded as exited with its code, and the policy applies', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'quiet-exit', image: 'sleeper:1', restart_policy: 'on-failure', restart_max_retries: 1 });
    const before = await waitFor(h1.app, id, 'running');
    await h1.close(false);
    for (const vm of h1.launcher.alive()) vm.finish({ code: 3, signal: null });
    const h2 = await restart(h1);
    try {
      const events = (await h2.store.listEvents(id)).map((e) => e.message);
      assert.ok(events.includes('process exited with code 3 while the manager was not running'), events.join(' | '));
      const again = await waitFor(h2.app, id, 'running', (i) => i.state === 'running' && i.restart_count === 1);
      assert.equal(again.container_runtime_id, before.container_runtime_id);
    } finally {
      await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      await h2.close();
    }
  });

  it('a VM adopted after a manager restart is stopped with the image\'s StopSignal', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'quitter', image: 'quits:1' });
    await waitFor(h1.app, id, 'running');
    await h1.close(false);
    const h2 = await restart(h1);
    try {
      const res = await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().item.exit_code, 131, 'SIGQUIT (3): 128+3');
    } finally {
      await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      await h2.close();
    }
  });

  it('a VM that died while the manager was down leaves no guest_ip behind', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'dead-ip', image: 'sleeper:1' });
    await waitFor(h1.app, id, 'running');
    await h1.close(false);
    for (const vm of h1.launcher.alive()) vm.finish(null);
    const h2 = await restart(h1);
    try {
      const after = await getItem(h2.app, id);
      assert.deepEqual([after.state, after.guest_ip], ['error', null]);
    } finally {
      await h2.close();
    }
  });

  it('a VM found booting (its process never started) is killed and provisioned again, not marked running', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'half-booted', image: 'hang:1' });
    const item = await waitFor(h1.app, id, 'initializing');
    const vm = h1.launcher.vms.get(item.container_runtime_id.slice(3))!;
    const h2 = await crash(h1);
    try {
      await waitFor(h2.app, id, 'initializing', (i) => i.state === 'initializing' && h2.launcher.launched === 2);
      assert.equal(vm.alive, false, 'the VM nobody will send the process to was killed');
      assert.ok(!(await states(h2, id)).slice(3).includes('running'), (await states(h2, id)).join(' > '));
      const msgs = (await h2.store.listEvents(id)).map((e) => e.message);
      assert.ok(msgs.includes('provisioning resumed after a manager restart'), msgs.join(' | '));
      await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('removes container directories (logs, writable layer) that no container owns, and partial files', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'keeps-dir', image: 'printer:1' });
    await waitFor(h1.app, id, 'running');
    await h1.close(false);
    const orphan = join(h1.dir, 'containers', randomUUID());
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'writable-layer.ext4'), 'layer');
    writeFileSync(join(orphan, 'output.ndjson'), '');
    // A kill -9 during the copy of the writable layer leaves its temporary file in the container's directory.
    const partial = join(h1.dir, 'containers', id, 'writable-layer.ext4.4242.partial');
    writeFileSync(partial, 'half a disk');
    const h2 = await restart(h1);
    try {
      assert.equal(existsSync(orphan), false, 'orphaned directory removed');
      assert.equal(existsSync(partial), false, 'partial file removed');
      assert.ok(existsSync(join(h1.dir, 'containers', id)), "the container's own directory stays");
      assert.equal((await h2.app.inject({ url: `/v1/containers/${id}/logs?format=text` })).body, 'line1\nline2\nline3\n');
    } finally {
      await h2.close();
    }
  });

  it("an exec after a restart runs with the image the container started from, not the tag's new one", async () => {
    const images = new FakeImages({ ...IMAGES, 'moving:v1': { cmd: ['sleep'], env: ['IMAGE=old'] } });
    const h1 = await harness({ images });
    const id = await create(h1.app, { name: 'pinned-exec', image: 'moving:v1' });
    const first = await waitFor(h1.app, id, 'running');
    images.images['moving:v1'] = { cmd: ['sleep'], env: ['IMAGE=new'] };
    const h2 = await restart(h1, images);
    try {
      const created = await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/exec`, payload: { cmd: ['env'] } });
      assert.equal(created.statusCode, 201, created.body);
      const vm = h2.launcher.vms.get(first.container_runtime_id.slice(3))!;
      const started = h2.app.inject({ method: 'POST', url: `/v1/exec/${created.json().id}/start`, payload: { detach: true } });
      assert.equal((await started).statusCode, 200, (await started).body);
      const env = vm.execs.at(-1)!.spec.env;
      assert.ok(env.includes('IMAGE=old'), `the exec's environment is the pinned image's: ${env.join(' ')}`);
      assert.equal(images.calls.at(-1), `moving:v1@${first.image_digest}`, 'resolved by digest');
    } finally {
      await h2.close();
    }
  });
});
