/**
 * The bridge's anti-spoofing (src/network/tap-guard.ts) against real nftables, in namespaces the tests create
 * (see lab.ts): entries come and go with taps, and frames that lie about their source are dropped at the
 * bridge while honest ones pass. A control guest on a port that is not Hearth's sends the same lies and gets
 * them through, which shows each observation would see a frame the guard let pass.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { macForIp, type GuestAddress } from '../../src/network/address-pool.ts';
import { tapNameFor } from '../../src/network/host-network.ts';
import * as ip from '../../src/tools/ip.ts';
import type { Lab } from '../helpers/netns.ts';
import { frameSender, gratuitousArp, udp4, udp6 } from './frames.ts';
import { AGENT, linkNames, netTest, pool } from './lab.ts';

const entry = (tap: string, a: GuestAddress) => ({ tap, mac: a.mac, ip: a.guestIp });

netTest('the anti-spoofing table: loaded by ensureBridge, one entry per tap, gone with the tap, stale ones swept', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  const [a, b] = [pool.addressOf('10.213.0.2'), pool.addressOf('10.213.0.3')];
  const [tap1, tap2] = [tapNameFor('vm-1'), tapNameFor('vm-2')];
  await host.call('net', {}, 'ensureBridge');
  const table = await host.call<{ family: string; chains: { name: string; hook: string; priority: number }[]; rules: unknown[] }>('guardTable');
  assert.equal(table.family, 'bridge');
  assert.deepEqual(table.chains.map((c) => `${c.name}:${c.hook}:${c.priority}`), ['prerouting:prerouting:-200']);
  assert.equal(table.rules.length, 4);
  assert.match(JSON.stringify(table.rules[0]), /"!=".*"hth\*".*accept/, 'only ports with the tap prefix are judged');
  assert.deepEqual(await host.call('guardEntries'), []);

  await host.call('net', {}, 'createTap', tap1, a);
  await host.call('net', {}, 'createTap', tap1, a);
  assert.deepEqual(await host.call('guardEntries'), [entry(tap1, a)], 'created twice, one entry');
  await host.call('net', {}, 'allowGuest', tap1, b);
  assert.deepEqual(await host.call('guardEntries'), [entry(tap1, b)], 'a new address replaces the old one');
  await host.call('net', {}, 'allowGuest', tap1, a);
  await host.call('net', {}, 'createTap', tap2, b);
  await host.call('net', {}, 'ensureBridge');
  const both = [entry(tap1, a), entry(tap2, b)].sort((x, y) => x.tap.localeCompare(y.tap));
  const sorted = async () => (await host.call<{ tap: string }[]>('guardEntries')).sort((x, y) => x.tap.localeCompare(y.tap));
  assert.deepEqual(await sorted(), both, 'a restart keeps the entries of taps that exist');

  await ip.deleteLink(tap2, { netns: h }); // gone behind Hearth's back (or a crash between the two steps)
  assert.deepEqual(await sorted(), both);
  await host.call('net', {}, 'ensureBridge');
  assert.deepEqual(await host.call('guardEntries'), [entry(tap1, a)], 'start-up drops the entry of a tap that is gone');

  await host.call('net', {}, 'deleteTap', tap1);
  await host.call('net', {}, 'deleteTap', tap1);
  assert.deepEqual(await host.call('guardEntries'), [], 'deleteTap removes the entry');
  assert.deepEqual(await linkNames(h), ['fcbr0', 'lo']);

  // A flushed ruleset: a new tap is refused (and not left behind) rather than created unguarded.
  await host.call('guardFlush');
  await assert.rejects(host.call('net', {}, 'createTap', tap1, a), { kind: 'FailedPrecondition', code: 'HEARTH_ERR_NET_NO_GUARD' });
  assert.deepEqual(await linkNames(h), ['fcbr0', 'lo']);
  await host.call('net', {}, 'deleteTap', tap1);

  await host.call('net', {}, 'ensureBridge');
  assert.notEqual(await host.call('guardTable'), null);
  await host.call('net', {}, 'removeBridge');
  assert.equal(await host.call('guardTable'), null, 'removeBridge with no tap left removes the table');
  assert.deepEqual(await linkNames(h), ['lo']);
});

let frames: ReturnType<typeof frameSender>;
before(() => {
  frames = frameSender();
});
after(() => frames.dispose());

/** A namespace whose eth0 (the guest's MAC and IP) is a veth with its other end, `port`, on the bridge in `h`. */
async function guestOn(lab: Lab, h: string, port: string, a: GuestAddress): Promise<string> {
  const g = await lab.netns();
  await ip.addVethPair(port, { name: 'eth0', netns: g }, { netns: h });
  await ip.setLink('eth0', { mac: a.mac, up: true }, { netns: g });
  await ip.addAddress('eth0', a.guestIp, a.prefixLength, { netns: g });
  await ip.setLink(port, { master: 'fcbr0', up: true }, { netns: h });
  return g;
}

netTest('a tap sends only as its guest: forged MAC, IP and ARP and any IPv6 are dropped; honest traffic passes', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  await host.call('net', {}, 'ensureBridge');
  const self = pool.addressOf('10.213.0.3'); // the guest behind a Hearth port
  const other = pool.addressOf('10.213.0.2'); // the neighbour it would pass itself off as
  const ctl = pool.addressOf('10.213.0.4'); // the control, behind a port that is not Hearth's
  const [port, ctlPort] = ['hthguard0', 'htvctl0'];
  const g = await guestOn(lab, h, port, self);
  const c = await guestOn(lab, h, ctlPort, ctl);
  await host.call('net', {}, 'allowGuest', port, self);

  // Honest traffic both ways, ARP included, as the kernels make it.
  const guest = lab.agent(g, AGENT);
  const server = await guest.call<{ port: number }>('tcpEchoServer', '0.0.0.0', 8080);
  assert.deepEqual(await host.call('tcpRequest', self.guestIp, server.port, ['hello']), { data: 'hello<eof>' });

  const sink = await host.call<{ id: number }>('udpSink', 5555);
  const toHost = { dstMac: macForIp(pool.gateway), dstIp: pool.gateway, port: 5555 };
  let sentinels = 0;
  /** Sends `lies` then an honest datagram; once that has arrived, returns what the sink got (in order). */
  const send = async (ns: string, a: GuestAddress, lies: Buffer[]): Promise<string[]> => {
    const sentinel = `sentinel-${++sentinels}`;
    frames.send(ns, 'eth0', [...lies, udp4({ ...toHost, srcMac: a.mac, srcIp: a.guestIp, payload: sentinel })]);
    for (;;) {
      const got = await host.call<string[]>('udpSunk', sink.id);
      if (got.includes(`${a.guestIp}|${sentinel}`)) {
        // A frame the bridge let through would have been handled by now; give a reordered one a moment.
        await new Promise((r) => setTimeout(r, 200));
        return (await host.call<string[]>('udpSunk', sink.id)).filter((m) => !m.includes('|sentinel-'));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const lies = (a: GuestAddress): Buffer[] => [
    udp4({ ...toHost, srcMac: other.mac, srcIp: a.guestIp, payload: 'wrong-mac' }),
    udp4({ ...toHost, srcMac: a.mac, srcIp: other.guestIp, payload: 'wrong-ip' }),
    udp4({ ...toHost, srcMac: other.mac, srcIp: other.guestIp, payload: 'impersonation' }),
    udp6({ srcMac: a.mac, srcIp: 'fe80:0:0:0:68ff:fe00:0:1', port: 5555, payload: 'ipv6' }),
  ];
  assert.deepEqual(await send(g, self, lies(self)), [], 'nothing but the honest datagram got through');

  // ARP: the host's entries start at a placeholder MAC that any ARP getting through would overwrite.
  const placeholder = '02:00:00:00:00:99';
  const neighbour = async (ipv4: string) => (await ip.getNeighbour('fcbr0', ipv4, { netns: h }))?.mac;
  for (const a of [self, other]) await ip.setNeighbour('fcbr0', a.guestIp, placeholder, 'stale', { netns: h });
  await send(g, self, [
    gratuitousArp({ ethSrc: self.mac, sha: self.mac, spa: other.guestIp }), // "the neighbour's IP is at my MAC"
    gratuitousArp({ ethSrc: self.mac, sha: '02:00:00:00:00:aa', spa: self.guestIp }), // a sender MAC not its own
    gratuitousArp({ ethSrc: other.mac, sha: self.mac, spa: self.guestIp }), // an Ethernet source not its own
  ]);
  assert.equal(await neighbour(other.guestIp), placeholder, 'the claim to the neighbour\'s IP was dropped');
  assert.equal(await neighbour(self.guestIp), placeholder, 'ARP with a forged sender MAC or Ethernet source was dropped');
  await send(g, self, [gratuitousArp({ ethSrc: self.mac, sha: self.mac, spa: self.guestIp })]);
  assert.equal(await neighbour(self.guestIp), self.mac, 'an honest announcement passes');

  // The control: the same lies from a port the guard does not judge all get through, so the checks above see.
  assert.deepEqual((await send(c, ctl, lies(ctl))).sort(), [
    `${other.guestIp}|impersonation`,
    `${other.guestIp}|wrong-ip`,
    `${ctl.guestIp}|wrong-mac`,
    'fe80::68ff:fe00:0:1%fcbr0|ipv6',
  ]);
  await send(c, ctl, [gratuitousArp({ ethSrc: ctl.mac, sha: ctl.mac, spa: other.guestIp })]);
  assert.equal(await neighbour(other.guestIp), ctl.mac);

  await host.call('net', {}, 'deleteTap', port);
  assert.deepEqual(await host.call('guardEntries'), []);
  await ip.deleteLink(ctlPort, { netns: h });
  await host.call('net', {}, 'removeBridge');
});
