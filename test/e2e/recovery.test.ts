/**
 * kill -9 of the manager while one container is provisioning (its image pull slowed by a throttling
 * proxy) and another is running; then a new manager on the same data directory. The running one must be
 * the same VM (same VMM pid, same guest boot) with its logs going on; the other must end running or error;
 * nothing may be orphaned (the sealed copy of the template's RAM the manager held included).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive } from '../../src/vmm/process.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { startProxy } from '../helpers/registry-proxy.ts';
import type { TestProxy } from '../helpers/registry-proxy.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { busyboxEntries } from '../helpers/app-images.ts';

await enterTestNetns(import.meta.url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('manager recovery after kill -9', () => {
  let world: E2eEnv;
  let proxy: TestProxy;
  before(async () => {
    world = await e2eEnv({}, async (registry) => {
      // 8 MiB that gzip cannot shrink, served at 1 MiB/s: the pull takes ~8 s.
      await pushImage(new Pusher(registry.url), 'slow/app', 'latest', [{ entries: busyboxEntries() }, { entries: [{ path: 'big.bin', content: randomBytes(8 << 20) }] }], {
        config: { Cmd: ['sh', '-c', 'echo slow app up; while true; do sleep 1; done'] },
      });
      proxy = await startProxy(registry.url, { throttle: 1 << 20 });
      return { HEARTH_REGISTRY_INSECURE: `${registry.host},${proxy.host}` };
    });
  });
  after(async () => {
    await world?.close();
    await proxy?.stop();
  });

  it('re-adopts the running VM without a reboot and settles the interrupted one', async () => {
    const { api } = world;
    const runner = await api.create({
      name: 'runner',
      image: 'busybox:latest',
      args: ['sh', '-c', 'b=$(cat /proc/sys/kernel/random/boot_id); i=0; while true; do i=$((i+1)); echo "tick $i $b"; sleep 0.2; done'],
    });
    await api.waitFor(runner, ['running']);
    const pidBefore = (await vmOf(world, runner)).pid;
    assert.match(String(await templateOf(world, runner)), /^[0-9a-f]{32}$/, 'it resumed from a VM template');
    assert.ok(pidBefore > 0 && (await isAlive(pidBefore)));
    await waitForLogs(world, runner, 3);
    const bootId = /tick \d+ (\S+)/.exec((await api.logs(runner)).at(-1)!.message)![1];

    const slow = await api.create({ name: 'slow', image: `${proxy.host}/slow/app:latest` });
    await sleep(1500);
    assert.equal((await api.get(slow)).state, 'creating', 'still pulling when the manager dies');

    const holders = await ramSealsOf(world.manager.pid);
    assert.equal(holders.length, 1, 'one sealed copy of the template\'s RAM, held for the manager');
    await world.manager.kill9();
    assert.ok(await isAlive(pidBefore), 'the VM outlives the manager');
    for (const end = Date.now() + 10_000; Date.now() < end && (await Promise.all(holders.map(isAlive))).some(Boolean); ) await sleep(50);
    assert.deepEqual((await Promise.all(holders.map(isAlive))).filter(Boolean), [], 'the copy\'s holder ended with the manager');
    await world.restart();

    // The API serves at once; the container says it is being recovered until its VM is reattached.
    assert.ok(['recovering', 'running'].includes((await api.get(runner)).state));
    await api.waitFor(runner, ['running']);
    const vmAfter = await vmOf(world, runner);
    assert.equal(vmAfter.pid, pidBefore, 'the same VMM process');
    const countAfterRestart = (await api.logs(runner)).length;
    await waitForLogs(world, runner, countAfterRestart + 3);
    const last = (await api.logs(runner)).at(-1)!.message;
    assert.match(last, new RegExp(`tick \\d+ ${bootId}$`), 'logs go on from the same guest boot');

    // Its pull was cut off: the new manager finishes provisioning it.
    const settled = await api.waitFor(slow, ['running', 'error', 'exited'], 120_000);
    assert.equal(settled.state, 'running', settled.error_message);
    await waitForLogs(world, slow, 1);
    assert.equal((await api.logs(slow))[0]!.message, 'slow app up');
    assert.match(String(await templateOf(world, slow)), /^[0-9a-f]{32}$/, 'the new manager resumes VMs from the template too (sealing its RAM again)');

    for (const id of [runner, slow]) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    assert.equal(await isAlive(pidBefore), false);
    await assertNoLeaks(world);
  });
});

/** The VM template a container's VM resumed from (its run directory's record), or null when it booted. */
async function templateOf(world: E2eEnv, containerId: string): Promise<string | null | undefined> {
  const vmId = ((await world.api.get(containerId)).container_runtime_id as string).replace(/^vm-/, '');
  return (JSON.parse(await readFile(path.join(world.dataDir, 'vms', vmId, 'sandbox.json'), 'utf8')) as { info: { template?: string | null } }).info.template;
}

/** The hearth-ramseal processes (sealed copies of template RAM) the process `parent` started. */
async function ramSealsOf(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (m?.[1] === 'hearth-ramseal' && Number(m[2]) === parent) pids.push(Number(entry));
  }
  return pids;
}

async function vmOf(world: E2eEnv, containerId: string): Promise<{ pid: number }> {
  const item = await world.api.get(containerId);
  const r = await world.api.call('GET', `/v1/vms/${(item.container_runtime_id as string).replace(/^vm-/, '')}`);
  assert.equal(r.status, 200, r.text);
  return r.body.item;
}

async function waitForLogs(world: E2eEnv, id: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await world.api.logs(id)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} log lines`);
    await sleep(100);
  }
}
