/**
 * The kill -9 drill: the manager is killed at random moments, 0.25-2 s apart, while ten containers are
 * being created, and started again after each kill. Afterwards every container runs, each VMM belongs to
 * a container, no partial file is left, and deleting everything leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cgroupInstance } from '../../src/vmm/jail/cgroups.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { vmmsUnder } from '../helpers/vmm-processes.ts';

await enterTestNetns(import.meta.url);

const CONTAINERS = 10;
const KILLS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9 drill', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it(`${KILLS} kills during the creation of ${CONTAINERS} containers: all run, no orphan, nothing partial`, async () => {
    const { api } = world;
    const ids = new Map<string, string>();
    // A client that keeps asking through the kills, as a user's script would: a create whose answer was lost
    // is found by its name.
    const creator = (async () => {
      for (let i = 0; i < CONTAINERS; i++) {
        const name = `drill-${i}`;
        while (!ids.has(name)) {
          const r = await api
            .call('POST', '/v1/containers', { name, image: 'busybox:latest', args: ['sh', '-c', `while true; do echo ${name} up; sleep 0.5; done`] })
            .catch(() => undefined); // the manager is down; it comes back
          if (r === undefined) {
            await sleep(50);
          } else if (r.status === 201) {
            ids.set(name, r.body.id);
          } else if (r.status === 409) {
            const found = (await api.call('GET', '/v1/containers').catch(() => undefined))?.body.items.find((c: { name: string }) => c.name === name);
            if (found) ids.set(name, found.id);
          } else {
            assert.fail(`create ${name}: ${r.status} ${r.text}`);
          }
        }
        await sleep(100);
      }
    })();
    for (let k = 0; k < KILLS; k++) {
      await sleep(250 + Math.random() * 1750);
      await world.manager.kill9();
      await world.restart();
    }
    await creator;
    assert.equal(ids.size, CONTAINERS);

    for (const id of ids.values()) {
      const item = await api.waitFor(id, ['running', 'error', 'exited', 'stopped'], 180_000);
      assert.equal(item.state, 'running', `${item.name}: ${item.error_message}`);
    }
    const vms = (await api.call('GET', '/v1/vms')).body.items as Array<{ id: string; pid: number }>;
    assert.equal(vms.length, CONTAINERS);
    const owned = vms.map((v) => v.pid).sort();
    assert.deepEqual((await vmmsUnder(world.dataDir)).sort(), owned, 'every VMM found by its tag belongs to a container');
    // Found another way, which no tag can fool: the processes in this manager's VMM cgroups.
    assert.deepEqual((await cgroupProcesses(world.dataDir)).sort(), owned, 'every process in a VMM cgroup belongs to a container');
    assert.deepEqual(await partialFiles(world.dataDir), [], 'no partial file');
    // The process runs and its output reaches the logs. (It writes a line every 0.5 s: a line in flight at the
    // moment a manager is killed can be lost, see docs/guest-protocol.md.)
    for (const id of ids.values()) {
      const deadline = Date.now() + 30_000;
      while (!(await api.logs(id)).some((l) => l.message.endsWith(' up'))) {
        assert.ok(Date.now() < deadline, 'the process runs and its output reaches the logs');
        await sleep(200);
      }
    }

    for (const id of ids.values()) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

async function cgroupProcesses(dataDir: string): Promise<number[]> {
  const instance = cgroupInstance(path.join(dataDir, 'vms'));
  const parent = '/sys/fs/cgroup/pids/hearth';
  const leaves = (await readdir(parent)).filter((l) => l.startsWith(`${instance}-`));
  const pids = await Promise.all(leaves.map(async (l) => (await readFile(path.join(parent, l, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean).map(Number)));
  return pids.flat();
}

async function partialFiles(dir: string): Promise<string[]> {
  const all = (await readdir(dir, { recursive: true })) as string[];
  // images/tmp is the image store's scratch space, emptied at every start.
  return all.filter((f) => /\.(partial|part)$/.test(path.basename(f)) && !f.startsWith('images/tmp/'));
}
