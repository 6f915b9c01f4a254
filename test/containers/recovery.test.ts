/**
 * A manager restart: the same SQLite file and the same "host" (fake launcher and network, whose VMs, run
 * directories and taps outlive the app), a fresh app instance.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeImages, FakeLauncher, FakeNetwork, Gate } from './fakes.ts';
import { IMAGES, assertNothingHeld, create, getItem, harness, waitFor, type Harness } from './harness.ts';

/** Closes `h` as a manager shutdown would and starts a new app on the same data and host. */
async function restart(h: Harness, images = h.images): Promise<Harness> {
  await h.close(false);
  h.network.restartProcess();
  return harness({ dir: h.dir, launcher: h.launcher, network: h.network, images });
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
      assert.equal(h2.network.ports.get('8088/tcp')?.targetIp, before.guest_ip, 'port forward reopened');
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
      vcpus: 1,
      memoryMib: 64,
    });
    launcher.runDirs.add('dead-vm');
    network.taps.set('hth99', 'nobody');
    const h = await harness({ launcher, network });
    try {
      assert.equal((orphan as any).alive, false, 'orphan VM killed');
      assert.deepEqual(launcher.purged, ['dead-vm']);
      assertNothingHeld(h);
      assert.ok(network.log.includes('deleteTap hth99'));
    } finally {
      await h.close();
    }
  });
});
