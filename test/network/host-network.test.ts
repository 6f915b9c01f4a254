/**
 * HostNetwork against real iproute2 and nftables, inside namespaces the tests create (see lab.ts).
 */
import assert from 'node:assert/strict';
import { tapNameFor } from '../../src/network/host-network.ts';
import * as ip from '../../src/tools/ip.ts';
import { AGENT, attachGuest, guestOnBridge, linkNames, netTest, pool } from './lab.ts';

async function addressesOf(netns: string, name: string): Promise<string[]> {
  return (await ip.listAddresses(name, { netns }))
    .filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixLength}`);
}

netTest('ensureBridge creates the bridge with the gateway address, up; twice is the same', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  await host.call('net', {}, 'ensureBridge');
  await host.call('net', {}, 'ensureBridge');
  const br = await ip.getLink('fcbr0', { netns: h });
  assert.equal(br?.kind, 'bridge');
  assert.equal(br?.up, true);
  assert.equal(br?.mac, '02:68:0a:d5:00:01', 'a fixed MAC, derived from the gateway address');
  assert.deepEqual(await addressesOf(h, 'fcbr0'), ['10.213.0.1/22']);
  assert.deepEqual(await linkNames(h), ['fcbr0', 'lo']);

  // Name and pool are configurable.
  await host.call('net', { bridge: 'hbr1', cidr: '10.77.5.0/24' }, 'ensureBridge');
  assert.deepEqual(await addressesOf(h, 'hbr1'), ['10.77.5.1/24']);

  await host.call('net', {}, 'removeBridge');
  await host.call('net', { bridge: 'hbr1', cidr: '10.77.5.0/24' }, 'removeBridge');
  await host.call('net', {}, 'removeBridge'); // idempotent
  assert.deepEqual(await linkNames(h), ['lo']);
});

netTest('ensureBridge leaves an existing bridge with our address alone', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  await ip.addBridge('fcbr0', { netns: h });
  await ip.addAddress('fcbr0', '10.213.0.1', 22, { netns: h });
  await ip.addAddress('fcbr0', '10.99.0.1', 24, { netns: h }); // someone's extra address
  await ip.setLink('fcbr0', { mtu: 1400 }, { netns: h });
  await host.call('net', {}, 'ensureBridge');
  const br = await ip.getLink('fcbr0', { netns: h });
  assert.equal(br?.mtu, 1400);
  assert.equal(br?.up, true);
  assert.deepEqual(await addressesOf(h, 'fcbr0'), ['10.213.0.1/22', '10.99.0.1/24']);
});

netTest('ensureBridge refuses a conflicting bridge, a non-bridge of that name, and a subnet already routed', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  // The design document's bridge: our name, another subnet.
  await ip.addBridge('fcbr0', { netns: h });
  await ip.addAddress('fcbr0', '192.168.18.1', 24, { netns: h });
  await assert.rejects(host.call('net', {}, 'ensureBridge'), {
    kind: 'FailedPrecondition',
    code: 'HEARTH_ERR_NET_BRIDGE_CONFLICT',
    message: /192\.168\.18\.1\/24/,
  });
  assert.deepEqual(await addressesOf(h, 'fcbr0'), ['192.168.18.1/24'], 'left untouched');
  await ip.deleteLink('fcbr0', { netns: h });

  await ip.addTap('fcbr0', { netns: h });
  await assert.rejects(host.call('net', {}, 'ensureBridge'), { code: 'HEARTH_ERR_NET_BRIDGE_CONFLICT' });
  await ip.deleteLink('fcbr0', { netns: h });

  // A LAN (or VPN) already uses part of the pool.
  await ip.addBridge('htvlan', { netns: h });
  await ip.addAddress('htvlan', '10.213.2.10', 24, { netns: h });
  await ip.setLink('htvlan', { up: true }, { netns: h });
  await assert.rejects(host.call('net', {}, 'ensureBridge'), {
    kind: 'FailedPrecondition',
    code: 'HEARTH_ERR_NET_SUBNET_CONFLICT',
    message: /10\.213\.2\.0\/24 on htvlan/,
  });
  assert.deepEqual(await linkNames(h), ['htvlan', 'lo'], 'no bridge was created');
  await host.call('net', { cidr: '10.214.0.0/22' }, 'ensureBridge'); // another pool is fine
  await host.call('net', {}, 'removeBridge');
});

netTest('createTap: root-owned single-queue tap on the bridge, up; idempotent; deleteTap leaves nothing', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  const tap = tapNameFor('vm-1');
  const guest = pool.addressOf('10.213.0.2');
  await assert.rejects(host.call('net', {}, 'createTap', tap, guest), { code: 'HEARTH_ERR_NET_NO_BRIDGE' });
  assert.deepEqual(await linkNames(h), ['lo']);

  await host.call('net', {}, 'ensureBridge');
  await host.call('net', {}, 'createTap', tap, guest);
  await host.call('net', {}, 'createTap', tap, guest);
  const link = await ip.getLink(tap, { netns: h });
  assert.equal(link?.kind, 'tun');
  assert.equal(link?.tunType, 'tap');
  assert.equal(link?.multiQueue, false);
  assert.equal(link?.master, 'fcbr0');
  assert.equal(link?.up, true);
  assert.equal(await host.call('tapOwner', tap), '-1', 'no owner: only root (CAP_NET_ADMIN) can open it');
  assert.equal((await ip.getLink('fcbr0', { netns: h }))?.mac, '02:68:0a:d5:00:01', 'ports do not change the bridge MAC');

  // A tap that lost its bridge (e.g. the bridge was re-created) is re-attached.
  await ip.setLink(tap, { master: null, up: false }, { netns: h });
  await host.call('net', {}, 'createTap', tap, guest);
  assert.equal((await ip.getLink(tap, { netns: h }))?.master, 'fcbr0');

  const tap2 = tapNameFor('vm-2');
  await host.call('net', {}, 'createTap', tap2, pool.addressOf('10.213.0.3'));
  await ip.addTap('tapother', { netns: h }); // not ours
  assert.deepEqual(await host.call('net', {}, 'listTaps'), [tap, tap2].sort());

  await assert.rejects(host.call('net', {}, 'createTap', 'eth0', guest), { code: 'HEARTH_ERR_NET_INVALID_NAME' });
  await assert.rejects(host.call('net', {}, 'deleteTap', 'tapother'), { code: 'HEARTH_ERR_NET_INVALID_NAME' });
  await assert.rejects(host.call('net', {}, 'createTap', 'hth0123456789abc', guest), { code: 'HEARTH_ERR_NET_INVALID_NAME' });
  await ip.addBridge('hthnotatap', { netns: h });
  await assert.rejects(host.call('net', {}, 'createTap', 'hthnotatap', guest), { code: 'HEARTH_ERR_NET_LINK_EXISTS' });
  await ip.deleteLink('hthnotatap', { netns: h });

  await assert.rejects(host.call('net', {}, 'removeBridge'), { code: 'HEARTH_ERR_NET_BRIDGE_IN_USE' });
  await host.call('net', {}, 'deleteTap', tap);
  await host.call('net', {}, 'deleteTap', tap);
  await host.call('net', {}, 'deleteTap', tap2);
  assert.deepEqual(await host.call('net', {}, 'listTaps'), []);
  await ip.deleteLink('tapother', { netns: h });
  await host.call('net', {}, 'removeBridge');
  assert.deepEqual(await linkNames(h), ['lo']);
});

netTest('a guest on the bridge is reachable from the host at its IP (and not before it is attached)', async (lab) => {
  const net = await guestOnBridge(lab, { attach: false });
  const server = await net.guest.call<{ port: number }>('tcpEchoServer', '0.0.0.0', 8080);
  const unattached = await net.host.call<{ error?: string }>('tcpRequest', net.addr.guestIp, server.port, ['x'], {
    timeoutMs: 1_500,
  });
  assert.ok(unattached.error !== undefined, 'no path to the guest before its NIC is on the bridge');

  await attachGuest(net.h);
  const reply = await net.host.call<{ data: string; error?: string }>('tcpRequest', net.addr.guestIp, server.port, ['hello']);
  assert.deepEqual(reply, { data: 'hello<eof>' });
  await net.teardown();
});

netTest('NAT: guests reach beyond the host masqueraded; rules replace idempotently and go away entirely', async (lab) => {
  const net = await guestOnBridge(lab);
  // O: the outside world, on 198.51.100.0/24 with no route back to the pool.
  const o = await lab.netns();
  const outside = lab.agent(o, AGENT);
  await ip.addVethPair('htvout', { name: 'eth0', netns: o }, { netns: net.h });
  await ip.addAddress('htvout', '198.51.100.1', 24, { netns: net.h });
  await ip.setLink('htvout', { up: true }, { netns: net.h });
  await ip.addAddress('eth0', '198.51.100.2', 24, { netns: o });
  await ip.setLink('eth0', { up: true }, { netns: o });
  const server = await outside.call<{ id: number; port: number }>('tcpEchoServer', '0.0.0.0', 80);
  const request = (): Promise<{ data: string; error?: string }> =>
    net.guest.call('tcpRequest', '198.51.100.2', server.port, ['out'], { timeoutMs: 1_500 });

  // Whatever the host's own setting (a new namespace inherits it once anything on the host turned it on).
  await net.host.call('setIpForward', '0');
  assert.equal(await net.host.call('ipForward'), '0');
  assert.ok((await request()).error !== undefined, 'no egress before NAT');
  assert.equal(await net.host.call('net', {}, 'natEnabled'), false);

  await net.host.call('net', {}, 'enableNat');
  await net.host.call('net', {}, 'enableNat');
  assert.equal(await net.host.call('ipForward'), '1');
  assert.equal(await net.host.call('net', {}, 'natEnabled'), true);
  const table = await net.host.call<{ chains: { name: string; hook: string }[]; rules: { chain: string; expr: unknown[] }[] }>(
    'natTable',
  );
  assert.deepEqual(table.chains.map((c) => `${c.name}:${c.hook}`), ['postrouting:postrouting', 'forward:forward']);
  assert.equal(table.rules.length, 3, 'enableNat twice does not duplicate rules');
  assert.match(JSON.stringify(table.rules[0]), /"addr":"10\.213\.0\.0","len":22.*"!=".*"fcbr0".*masquerade/);

  assert.deepEqual(await request(), { data: 'out<eof>' });
  const peers = await outside.call<string[]>('tcpPeers', server.id);
  assert.equal(peers.length, 1);
  assert.match(peers[0]!, /^198\.51\.100\.1:/, 'the outside sees the host address, not the guest');

  await net.host.call('net', {}, 'disableNat');
  await net.host.call('net', {}, 'disableNat');
  assert.equal(await net.host.call('natTable'), null);
  assert.equal(await net.host.call('net', {}, 'natEnabled'), false);
  assert.ok((await request()).error !== undefined, 'no egress after NAT is off');
  assert.equal(await net.host.call('ipForward'), '1', 'ip_forward is left on (documented)');

  await ip.deleteLink('htvout', { netns: net.h });
  await net.teardown();
  assert.equal(pool.gateway, '10.213.0.1');
});
