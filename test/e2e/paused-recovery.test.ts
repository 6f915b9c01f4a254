/**
 * A manager restarted while three of its guests are paused (two VMMs stopped with SIGSTOP, one guest
 * paused through QMP) and a fourth does not answer (another client holds its agent's channel) serves at
 * once: it answers while that fourth container is still being recovered, reports the paused ones `paused`
 * and the silent one `unresponsive`, and takes each back as `running` once it resumes, with the same VMM
 * and its logs going on.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QmpClient } from '../../src/vmm/qemu/qmp.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recovery of paused and silent guests', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({ HEARTH_RECOVERY_RETRY_MS: '300' });
  });
  after(async () => {
    await world?.close();
  });

  it('serves at once, says what each is, and takes them back when they answer', async (t) => {
    const { api } = world;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await api.create({ name: `held-${i}`, image: 'busybox:latest', args: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] }));
    }
    const vms: Array<{ id: string; pid: number }> = [];
    for (const id of ids) {
      const item = await api.waitFor(id, ['running']);
      vms.push((await api.call('GET', `/v1/vms/${item.container_runtime_id}`)).body.item);
    }
    await world.manager.kill9();
    process.kill(vms[0]!.pid, 'SIGSTOP');
    process.kill(vms[1]!.pid, 'SIGSTOP');
    const qmp = await qmpOf(world, vms[2]!.id);
    await qmp.execute('stop');
    qmp.close();
    // The guest agent serves one connection at a time: while this one is open, the manager's gets no greeting.
    const hog = net.connect(path.join(world.dataDir, 'vms', vms[3]!.id, 'vmm', 'control.sock'));
    await new Promise((resolve) => hog.once('connect', resolve));

    const started = Date.now();
    await world.restart();
    t.diagnostic(`manager process start to /health answering: ${Date.now() - started} ms`);
    assert.equal((await api.get(ids[3]!)).state, 'recovering', 'the API answers while a container is still being recovered');
    for (const id of ids.slice(0, 3)) assert.equal((await api.waitFor(id, ['paused'], 30_000)).state, 'paused');
    const silent = await api.waitFor(ids[3]!, ['unresponsive'], 30_000);
    assert.notEqual(silent.guest_ip, null, 'a silent container keeps its address');

    process.kill(vms[0]!.pid, 'SIGCONT');
    process.kill(vms[1]!.pid, 'SIGCONT');
    const resume = await qmpOf(world, vms[2]!.id);
    await resume.execute('cont');
    resume.close();
    hog.destroy();
    for (const [i, id] of ids.entries()) {
      await api.waitFor(id, ['running'], 30_000);
      const vm = (await api.call('GET', `/v1/vms/${vms[i]!.id}`)).body.item;
      assert.equal(vm.pid, vms[i]!.pid, 'the same VMM');
      const before = (await api.logs(id)).length;
      const deadline = Date.now() + 30_000;
      while ((await api.logs(id)).length <= before) {
        assert.ok(Date.now() < deadline, 'its logs go on');
        await sleep(100);
      }
    }
    for (const id of ids) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

/** QMP serves one client at a time and the manager polls paused VMs: wait for a turn. */
async function qmpOf(world: E2eEnv, vmId: string): Promise<QmpClient> {
  const socket = path.join(world.dataDir, 'vms', vmId, 'vmm', 'qmp.sock');
  for (let attempt = 0; ; attempt++) {
    try {
      return await QmpClient.connect(socket, 2_000);
    } catch (e) {
      if (attempt >= 10) throw e;
      await sleep(100);
    }
  }
}
