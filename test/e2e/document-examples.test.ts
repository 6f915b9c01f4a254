/**
 * The product document's session, as written, against the real manager: real registry (the docker.io
 * mirror), real microVMs under TCG, real bridge and taps (inside this file's own network namespace).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { HELLO_OUTPUT, WEBAPP_PAGE } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { freePort } from '../helpers/registry.ts';

await enterTestNetns(import.meta.url);

// With snapshots on (the default: VMs resume from a template) and off (every VM boots).
for (const snapshots of ['on', 'off']) describe(`the product document, end to end, snapshots ${snapshots}`, () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({ HEARTH_SNAPSHOTS: snapshots });
  });
  after(async () => {
    await world?.close();
  });

  it('runs hello-world: create, status, list, logs, delete', async () => {
    const { api } = world;
    const id = await api.create({
      name: 'hello-world',
      image: 'hello-world:latest',
      args: [],
      env_vars: {},
      volumes: [],
      port_mappings: [],
      restart_policy: 'no',
    });
    assert.match(id, /^[0-9a-f-]{36}$/);
    const item = await api.waitFor(id, ['exited', 'error']);
    assert.equal(item.state, 'exited', item.error_message);
    assert.equal(item.exit_code, 0);
    assert.equal(item.name, 'hello-world');
    assert.equal(item.image, 'hello-world:latest');
    assert.match(item.container_runtime_id, /^vm-[0-9a-f-]{36}$/);
    assert.match(item.container_id, /^[0-9a-f]{64}$/);
    for (const field of ['args', 'env_vars', 'volumes', 'port_mappings', 'restart_policy', 'error_message', 'created_at', 'updated_at']) {
      assert.ok(field in item, `item has ${field}`);
    }

    const list = await api.call('GET', '/v1/containers');
    assert.deepEqual(list.body.items.map((c: { id: string }) => c.id), [id]);
    const logs = await api.logs(id);
    assert.ok(logs.some((l) => l.stream === 'stdout' && l.message.includes(HELLO_OUTPUT)), JSON.stringify(logs));
    const text = await api.call('GET', `/v1/containers/${id}/logs`, undefined, { accept: 'text/plain' });
    assert.match(text.text, new RegExp(HELLO_OUTPUT));

    const del = await api.call('DELETE', `/v1/containers/${id}`);
    assert.ok(del.status === 204 || del.status === 200, del.text);
    assert.equal((await api.call('GET', `/v1/containers/${id}`)).status, 404);
    await assertNoLeaks(world);
  });

  it('serves nginx-style from a port mapping, and the debug commands work as written', async () => {
    const { api } = world;
    const hostPort = await freePort();
    const id = await api.create({
      name: 'nginx-server',
      image: 'webapp:latest',
      port_mappings: [{ container_port: 80, host_port: hostPort }],
    });
    const item = await api.waitFor(id, ['running', 'error', 'exited']);
    assert.equal(item.state, 'running', item.error_message);

    // VM_IP=$(... | jq -r '.item.container_runtime_id'); GUEST_IP=$(curl /v1/vms/${VM_IP#vm-} | jq -r '.item.guest_ip')
    const vmId = (item.container_runtime_id as string).replace(/^vm-/, '');
    const vm = await api.call('GET', `/v1/vms/${vmId}`);
    assert.equal(vm.status, 200, vm.text);
    const guestIp = vm.body.item.guest_ip as string;
    assert.match(guestIp, /^10\.213\./);

    const direct = await fetchWithRetry(`http://${guestIp}:80/`);
    assert.equal(direct, WEBAPP_PAGE, 'the host reaches the guest IP');
    const mapped = await fetchWithRetry(`http://127.0.0.1:${hostPort}/`);
    assert.equal(mapped, WEBAPP_PAGE, 'the host port reaches the container port');

    const stop = await api.call('POST', `/v1/containers/${id}/stop`);
    assert.equal(stop.status, 200, stop.text);
    assert.equal((await api.get(id)).state, 'stopped');
    await assert.rejects(fetch(`http://127.0.0.1:${hostPort}/`), 'the mapping stops serving with the container');

    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

async function fetchWithRetry(url: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
