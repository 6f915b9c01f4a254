/**
 * A manager restarted while three of its guests are paused (two VMMs stopped with SIGSTOP, one guest
 * paused through QMP) serves at once, reports those containers `paused`, and takes them back as `running`
 * once they resume, with the same VMM and their logs going on.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QmpClient } from '../../src/vmm/qemu/qmp.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

describe('recovery of paused guests', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({ HEARTH_RECOVERY_RETRY_MS: '300' });
  });
  after(async () => {
    await world?.close();
  });

  it('serves at once, reports them paused, and takes them back when they resume', async (t) => {
    const { api } = world;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await api.create({ name: `paused-${i}`, image: 'busybox:latest', args: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] }));
    }
    const vms: Array<{ id: string; pid: number }> = [];
    for (const id of ids) {
      const item = await api.waitFor(id, ['running']);
      vms.push((await api.call('GET', `/v1/vms/${item.container_runtime_id}`)).body.item);
    }
    await world.manager.kill9();
    process.kill(vms[0]!.pid, 'SIGSTOP');
    process.kill(vms[1]!.pid, 'SIGSTOP');
    const qmp = await QmpClient.connect(qmpSocket(world, vms[2]!.id));
    await qmp.execute('stop');
    qmp.close();

    const started = Date.now();
    await world.restart();
    t.diagnostic(`manager process start to /health answering: ${Date.now() - started} ms`);
    for (const id of ids) {
      const { state } = await api.get(id);
      assert.ok(['recovering', 'paused'].includes(state), `the API answers before those guests are settled (${state})`);
    }
    for (const id of ids) {
      const item = await api.waitFor(id, ['paused'], 30_000);
      assert.equal(item.guest_ip !== null, true, 'a paused container keeps its address');
    }

    process.kill(vms[0]!.pid, 'SIGCONT');
    process.kill(vms[1]!.pid, 'SIGCONT');
    const resume = await QmpClient.connect(qmpSocket(world, vms[2]!.id)).catch(() => undefined);
    // The manager may hold the only QMP connection already (it polls); then `cont` goes through a retry.
    if (resume) {
      await resume.execute('cont');
      resume.close();
    }
    for (const [i, id] of ids.entries()) {
      if (!resume && i === 2) continue;
      await api.waitFor(id, ['running'], 30_000);
      const vm = (await api.call('GET', `/v1/vms/${vms[i]!.id}`)).body.item;
      assert.equal(vm.pid, vms[i]!.pid, 'the same VMM');
      const before = (await api.logs(id)).length;
      const deadline = Date.now() + 30_000;
      while ((await api.logs(id)).length <= before) {
        assert.ok(Date.now() < deadline, 'its logs go on');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const id of ids) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

function qmpSocket(world: E2eEnv, vmId: string): string {
  return path.join(world.dataDir, 'vms', vmId, 'vmm', 'qmp.sock');
}
