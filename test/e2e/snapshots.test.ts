/**
 * Containers resumed from a VM template, through the manager: each is its own machine on the network (its
 * address, MAC, route and hostname are its own, set by its agent, not the template's), and they reach each
 * other and the host.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { macForIp } from '../../src/network/address-pool.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

describe('containers resumed from a template', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('each has its own address, MAC, route and hostname, and reaches the other', async () => {
    const { api } = world;
    const names = ['clone-a', 'clone-b'];
    const ids = [];
    for (const name of names) ids.push(await api.create({ name, image: 'busybox:latest', args: ['sh', '-c', 'while true; do sleep 1; done'] }));
    const machines = [];
    for (const [i, id] of ids.entries()) {
      const item = await api.waitFor(id, ['running', 'error', 'exited']);
      assert.equal(item.state, 'running', item.error_message);
      const vmId = (item.container_runtime_id as string).replace(/^vm-/, '');
      const record = JSON.parse(await readFile(path.join(world.dataDir, 'vms', vmId, 'sandbox.json'), 'utf8')) as { info: { template: string | null; guestIp: string } };
      assert.match(String(record.info.template), /^[0-9a-f]{32}$/, `${names[i]} resumed from a template`);
      const sh = (script: string) => world.docker.ok(['exec', names[i]!, 'sh', '-c', script]);
      machines.push({
        ip: record.info.guestIp,
        template: record.info.template,
        mac: (await sh('cat /sys/class/net/eth0/address')).trim(),
        addr: await sh('ip -4 -o addr show eth0'),
        route: await sh('ip route show default'),
        hostname: (await sh('hostname')).trim(),
        containerId: item.container_id as string,
      });
    }
    const [a, b] = machines as [(typeof machines)[number], (typeof machines)[number]];
    assert.equal(a.template, b.template, 'one template for both');
    assert.notEqual(a.ip, b.ip);
    for (const [i, m] of machines.entries()) {
      assert.equal(m.mac, macForIp(m.ip), `${names[i]} has the MAC of its address, not the template's`);
      assert.match(m.addr, new RegExp(`inet ${m.ip.replaceAll('.', '\\.')}/\\d+`));
      assert.match(m.route, /^default via 10\.213\.\d+\.\d+ dev eth0/);
      assert.equal(m.hostname, m.containerId.slice(0, 12));
    }
    assert.match(await world.docker.ok(['exec', 'clone-a', 'ping', '-c', '1', '-W', '5', b.ip]), / 0% packet loss/, 'a reaches b');
    for (const id of ids) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});
