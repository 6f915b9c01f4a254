/**
 * The kill -9 drill: the manager is killed at random moments, 0.25-2 s apart, while ten containers are
 * being created, and started again after each kill. Afterwards every container runs, each VMM belongs to
 * a container, no partial file is left, and deleting everything leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
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
    let killing = true;
    // A client that keeps asking through the kills, as a user's script would: a create whose answer was lost
    // is found by its name.
    const creator = (async () => {
      for (let i = 0; i < CONTAINERS; i++) {
        const name = `drill-${i}`;
        while (!ids.has(name)) {
          try {
            const r = await api.call('POST', '/v1/containers', {
              name,
              image: 'busybox:latest',
              args: ['sh', '-c', `echo ${name} up; while true; do sleep 1; done`],
            });
            if (r.status === 201) ids.set(name, r.body.id);
            else if (r.status === 409) {
              const found = (await api.call('GET', '/v1/containers')).body.items.find((c: { name: string }) => c.name === name);
              if (found) ids.set(name, found.id);
            } else assert.fail(`create ${name}: ${r.status} ${r.text}`);
          } catch {
            await sleep(50); // the manager is down; it comes back
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
    killing = false;
    await creator;
    assert.equal(killing, false);
    assert.equal(ids.size, CONTAINERS);

    for (const id of ids.values()) {
      const item = await api.waitFor(id, ['running', 'error', 'exited', 'stopped'], 180_000);
      assert.equal(item.state, 'running', `${item.name}: ${item.error_message}`);
    }
    const vms = (await api.call('GET', '/v1/vms')).body.items as Array<{ id: string; pid: number }>;
    assert.equal(vms.length, CONTAINERS);
    assert.deepEqual((await vmmsUnder(world.dataDir)).sort(), vms.map((v) => v.pid).sort(), 'every VMM belongs to a container');
    assert.deepEqual(await partialFiles(world.dataDir), [], 'no partial file');
    for (const id of ids.values()) {
      const logs = await api.logs(id);
      assert.ok(logs.some((l) => l.message.endsWith(' up')), 'the process ran');
    }

    for (const id of ids.values()) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

async function partialFiles(dir: string): Promise<string[]> {
  const all = (await readdir(dir, { recursive: true })) as string[];
  // images/tmp is the image store's scratch space, emptied at every start.
  return all.filter((f) => /\.(partial|part)$/.test(path.basename(f)) && !f.startsWith('images/tmp/'));
}
