/**
 * A container that takes its neighbour's address, end to end, with the real manager and real VMs: B adds A's
 * IP to its eth0, answers ARP for it and keeps announcing it with gratuitous ARP. Traffic to A's IP, from the
 * host, through A's port mapping and from a third container, must still reach A; B's own address and every
 * honest path keep working; deleting the containers leaves no anti-spoofing entry (assertNoLeaks). And a
 * manager that restarts over a lost anti-spoofing table (an upgrade from a version without it, a flushed
 * ruleset) gives the VMs it reattaches their entries back, so they keep their network; so it does the
 * taps' isolation (port flags and MAC pin, src/network/port-isolation.ts), lost the same way.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { listTapSenders, removeTapGuard } from '../../src/network/tap-guard.ts';
import { deleteFdbEntry, getBridgePort, listFdb, setBridgePortFlags } from '../../src/tools/bridge.ts';
import { getNeighbour } from '../../src/tools/ip.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { Api, E2eEnv } from '../helpers/e2e-env.ts';
import { freePort } from '../helpers/registry.ts';

await enterTestNetns(import.meta.url);

const sh = (script: string) => ['sh', '-c', script];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** httpd serving one page that names the container. */
const serve = (name: string) => `mkdir -p /www && echo ${name} > /www/index.html && httpd -p 80 -h /www`;

/** One GET on a fresh connection (no keep-alive: each request resolves the address again). */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

async function getWhenUp(url: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await get(url);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(200);
    }
  }
}

async function vmOf(api: Api, id: string): Promise<{ guest_ip: string; mac: string; tap: string }> {
  const item = await api.get(id);
  const vm = await api.call('GET', `/v1/vms/${(item.container_runtime_id as string).replace(/^vm-/, '')}`);
  assert.equal(vm.status, 200, vm.text);
  return vm.body.item;
}

async function waitForLog(api: Api, id: string, line: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await api.logs(id)).some((l) => l.message === line)) {
    if (Date.now() > deadline) throw new Error(`no "${line}" in the log of ${id}: ${JSON.stringify(await api.logs(id))}`);
    await sleep(200);
  }
}

describe('a container cannot take another container\'s address', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('B claims A\'s IP and announces it; the host, A\'s port mapping and a third container still reach A', async () => {
    const { api } = world;
    const hostPort = await freePort();
    const a = await api.create({
      name: 'victim',
      image: 'busybox:latest',
      args: sh(`${serve('A')} -f`),
      port_mappings: [{ container_port: 80, host_port: hostPort }],
    });
    assert.equal((await api.waitFor(a, ['running', 'error', 'exited'])).state, 'running');
    const victim = await vmOf(api, a);
    assert.equal(await getWhenUp(`http://${victim.guest_ip}/`), 'A\n');

    const ip = victim.guest_ip;
    // Privileged: every capability of its guest (NET_ADMIN to take the address, NET_RAW to announce it).
    const b = await api.create({
      name: 'thief',
      image: 'busybox:latest',
      privileged: true,
      args: sh(
        `${serve('B')} && ip addr add ${ip}/22 dev eth0 && echo claimed && n=0 && while true; do ` +
          `arping -U -c 1 -I eth0 -s ${ip} ${ip} >/dev/null; arping -A -c 1 -I eth0 -s ${ip} ${ip} >/dev/null; ` +
          `n=$((n+1)); [ $n = 3 ] && echo announced; sleep 0.3; done`,
      ),
    });
    assert.equal((await api.waitFor(b, ['running', 'error', 'exited'])).state, 'running');
    const thief = await vmOf(api, b);
    await waitForLog(api, b, 'claimed');
    await waitForLog(api, b, 'announced');

    // The attack runs all along: every request resolves A's address afresh.
    for (let i = 0; i < 10; i++) {
      assert.equal(await get(`http://${ip}/`), 'A\n', `request ${i} to A's IP from the host`);
      assert.equal(await get(`http://127.0.0.1:${hostPort}/`), 'A\n', `request ${i} through A's port mapping`);
      assert.equal((await getNeighbour('fcbr0', ip))?.mac, victim.mac, 'the host has A\'s MAC for A\'s IP');
      await sleep(300);
    }
    assert.equal(await get(`http://${thief.guest_ip}/`), 'B\n', 'B is still reachable at its own address');

    const c = await api.create({
      name: 'bystander',
      image: 'busybox:latest',
      // nc rather than wget: this Debian busybox-static's wget segfaults as it starts (on the host too).
      args: sh(`for to in ${ip} ${thief.guest_ip}; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 $to 80 | tail -n 1; done`),
    });
    const bystander = await api.waitFor(c, ['exited', 'error']);
    assert.equal(bystander.exit_code, 0, JSON.stringify(await api.logs(c)));
    assert.deepEqual((await api.logs(c)).map((l) => l.message), ['A', 'B'], 'container to container: A is A, B is B');
    assert.equal((await api.get(b)).state, 'running', 'the thief was not stopped: its lies were only dropped');

    for (const id of [a, b, c]) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });

  it('a manager restarted over a lost table and lost port isolation gives reattached VMs both back', async () => {
    const { api } = world;
    const hostPort = await freePort();
    const id = await api.create({
      name: 'survivor',
      image: 'busybox:latest',
      args: sh(`${serve('S')} -f`),
      port_mappings: [{ container_port: 80, host_port: hostPort }],
    });
    assert.equal((await api.waitFor(id, ['running', 'error', 'exited'])).state, 'running');
    const vm = await vmOf(api, id);
    assert.equal(await getWhenUp(`http://${vm.guest_ip}/`), 'S\n');
    const entries = await listTapSenders();
    assert.equal(entries.length, 1);
    assert.deepEqual({ mac: entries[0]!.mac, ip: entries[0]!.ip }, { mac: vm.mac, ip: vm.guest_ip });

    const isolation = async () => {
      const port = await getBridgePort(vm.tap);
      const pins = (await listFdb('fcbr0')).filter((e) => e.dev === vm.tap && e.state !== 'permanent');
      return { learning: port?.learning, flood: port?.flood, pins: pins.map((e) => `${e.mac} ${e.state}`) };
    };
    assert.deepEqual(await isolation(), { learning: false, flood: false, pins: [`${vm.mac} static`] });

    await world.manager.kill9();
    await removeTapGuard();
    await setBridgePortFlags(vm.tap, { learning: true, flood: true });
    await deleteFdbEntry(vm.mac, vm.tap);
    await world.restart();
    assert.equal((await api.waitFor(id, ['running', 'error', 'exited'])).state, 'running', 'reattached');
    assert.deepEqual(await listTapSenders(), entries, 'the entry is back');
    assert.deepEqual(await isolation(), { learning: false, flood: false, pins: [`${vm.mac} static`] }, 'so is isolation');
    assert.equal(await get(`http://${vm.guest_ip}/`), 'S\n');
    assert.equal(await get(`http://127.0.0.1:${hostPort}/`), 'S\n');

    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});
