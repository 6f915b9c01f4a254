/**
 * Port isolation (src/network/port-isolation.ts) on a real bridge, in namespaces the tests create (see
 * lab.ts): each Hearth port learns nothing, gets no unicast flood and has its guest's MAC pinned; and a
 * neighbour in promiscuous mode takes in no frame meant for another guest, or for a MAC on no port, while
 * host -> guest, guest -> guest and a UDP port forward to a silent guest still arrive. A control guest on a
 * port that is not Hearth's gets the floods, which shows the captures would see a frame the bridge let out.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { macForIp, type GuestAddress } from '../../src/network/address-pool.ts';
import { tapNameFor } from '../../src/network/host-network.ts';
import * as bridge from '../../src/tools/bridge.ts';
import * as ip from '../../src/tools/ip.ts';
import type { Lab } from '../helpers/netns.ts';
import { destinationOf, frameCapturer, frameSender, isGroupMac, udp4, type Capture } from './frames.ts';
import { AGENT, linkNames, netTest, pool } from './lab.ts';

/**
 * The bridge's entries that send frames out of Hearth's ports (not the host's own addresses), each checked to
 * be static: nothing is learnt from those ports.
 */
async function pins(h: string): Promise<Omit<bridge.FdbEntry, 'state'>[]> {
  return (await bridge.listFdb('fcbr0', { netns: h }))
    .filter((e) => e.state !== 'permanent' && e.dev.startsWith('hth'))
    .map((e) => {
      assert.equal(e.state, 'static', `${e.mac} on ${e.dev} is ${e.state}`);
      return { mac: e.mac, dev: e.dev, sticky: e.sticky };
    })
    .sort((x, y) => x.dev.localeCompare(y.dev));
}

const pin = (dev: string, a: GuestAddress) => ({ mac: a.mac, dev, sticky: true });
const ISOLATED = { learning: false, flood: false, mcastFlood: true, bcastFlood: true };

async function flagsOf(h: string, port: string): Promise<bridge.BridgePortFlags | undefined> {
  const p = await bridge.getBridgePort(port, { netns: h });
  return p && { learning: p.learning, flood: p.flood, mcastFlood: p.mcastFlood, bcastFlood: p.bcastFlood };
}

netTest('each tap: no learning, no unicast flood, its guest\'s MAC pinned; kept right on re-attach, a new address and a restart; gone with the tap', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  const [a, b] = [pool.addressOf('10.213.0.2'), pool.addressOf('10.213.0.3')];
  const [tap1, tap2] = [tapNameFor('vm-1'), tapNameFor('vm-2')];
  await host.call('net', {}, 'ensureBridge');

  await host.call('net', {}, 'createTap', tap1, a);
  await host.call('net', {}, 'createTap', tap1, a);
  assert.deepEqual(await flagsOf(h, tap1), ISOLATED, 'broadcast and multicast still flood to it (ARP)');
  assert.deepEqual(await pins(h), [pin(tap1, a)], 'created twice, one static sticky entry');
  await host.call('net', {}, 'createTap', tap2, b);
  assert.deepEqual(await pins(h), [pin(tap1, a), pin(tap2, b)].sort((x, y) => x.dev.localeCompare(y.dev)));

  await host.call('net', {}, 'deleteTap', tap2);
  await host.call('net', {}, 'allowGuest', tap1, b);
  assert.deepEqual(await pins(h), [pin(tap1, b)], 'a new address replaces the old pin');
  await host.call('net', {}, 'allowGuest', tap1, a);

  // A tap as a version without isolation left it (or as someone changed it): a restarted manager's reserve
  // (allowGuest) sets it right.
  await bridge.setBridgePortFlags(tap1, { learning: true, flood: true }, { netns: h });
  await bridge.deleteFdbEntry(a.mac, tap1, { netns: h });
  await bridge.replaceStaticFdbEntry('02:00:00:00:00:aa', tap1, { netns: h });
  await host.call('net', {}, 'allowGuest', tap1, a);
  assert.deepEqual(await flagsOf(h, tap1), ISOLATED);
  assert.deepEqual(await pins(h), [pin(tap1, a)], 'any other entry leading to the tap is dropped');

  // Detached, the kernel forgets the port's settings; createTap attaches it again and isolates it again.
  await ip.setLink(tap1, { master: null }, { netns: h });
  assert.deepEqual(await pins(h), []);
  await host.call('net', {}, 'createTap', tap1, a);
  assert.deepEqual(await flagsOf(h, tap1), ISOLATED);
  assert.deepEqual(await pins(h), [pin(tap1, a)]);

  // A tap on no bridge, or none at all (reserve for a VM that is gone): only the anti-spoofing entry.
  await ip.addTap('hthloose', { netns: h });
  await host.call('net', {}, 'allowGuest', 'hthloose', b);
  await host.call('net', {}, 'allowGuest', tap2, b);
  assert.equal(await bridge.getBridgePort('hthloose', { netns: h }), undefined);
  assert.deepEqual(await pins(h), [pin(tap1, a)]);
  await host.call('net', {}, 'deleteTap', 'hthloose');
  await host.call('net', {}, 'deleteTap', tap2);

  await host.call('net', {}, 'deleteTap', tap1);
  assert.deepEqual(await pins(h), [], 'the pin goes with the tap');
  assert.deepEqual(await linkNames(h), ['fcbr0', 'lo']);
  await host.call('net', {}, 'removeBridge');
});

let frames: ReturnType<typeof frameSender>;
let capturer: ReturnType<typeof frameCapturer>;
before(() => {
  frames = frameSender();
  capturer = frameCapturer();
});
after(() => {
  frames.dispose();
  capturer.dispose();
});

/** A namespace whose eth0 (the guest's MAC and IP) is a veth with its other end, `port`, on the bridge in `h`. */
async function guestOn(lab: Lab, h: string, port: string, a: GuestAddress): Promise<string> {
  const g = await lab.netns();
  await ip.addVethPair(port, { name: 'eth0', netns: g }, { netns: h });
  await ip.setLink('eth0', { mac: a.mac, up: true }, { netns: g });
  await ip.addAddress('eth0', a.guestIp, a.prefixLength, { netns: g });
  await ip.setLink(port, { master: 'fcbr0', up: true }, { netns: h });
  return g;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds (the frames a test sent have arrived), then a moment for any stray copy. */
async function settle(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  await sleep(300);
}

/** The payloads (after the marker's start) of the captured frames that hold `marker`. */
const carrying = (c: Capture, marker: string): string[] =>
  c.frames().flatMap((f) => {
    const at = f.indexOf(marker);
    return at < 0 ? [] : [f.subarray(at).toString()];
  });

netTest('a promiscuous neighbour takes in no frame for another guest or for no port; host, guests and a UDP port forward still get through', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  await host.call('net', {}, 'ensureBridge');
  const [a, b, d, c] = ['10.213.0.2', '10.213.0.3', '10.213.0.4', '10.213.0.5'].map((x) => pool.addressOf(x)) as [
    GuestAddress,
    GuestAddress,
    GuestAddress,
    GuestAddress,
  ];
  // A: the silent server. B: the eavesdropper. D: another guest talking to A. C: the control, on a port
  // that is not Hearth's (defaults: learning, flooding).
  const ga = await guestOn(lab, h, 'hthvetha', a);
  const gb = await guestOn(lab, h, 'hthvethb', b);
  const gd = await guestOn(lab, h, 'hthvethd', d);
  const gc = await guestOn(lab, h, 'htvctl0', c);
  await host.call('net', {}, 'allowGuest', 'hthvethb', b);
  await host.call('net', {}, 'allowGuest', 'hthvethd', d);
  const [eavesdropper, control] = [await capturer.start(gb, 'eth0'), await capturer.start(gc, 'eth0')];
  const [guestA, guestD] = [lab.agent(ga, AGENT), lab.agent(gd, AGENT)];
  const sink = await guestA.call<{ id: number }>('udpSink', 5555);
  const sunk = () => guestA.call<string[]>('udpSunk', sink.id);

  // A UDP port forward to A, which never answers; the host knows A's MAC without asking (as it would from
  // a while ago), so A sends nothing at all. Its port is not bound yet, as before this change: the bridge
  // has never learnt A's MAC and floods every datagram.
  await ip.setNeighbour('fcbr0', a.guestIp, a.mac, 'permanent', { netns: h });
  const fwd = await host.call<{ mapping: { hostPort: number } }>('forwardOpen', {
    hostPort: 0,
    protocol: 'udp',
    targetIp: a.guestIp,
    targetPort: 5555,
  });
  const forward = async (messages: string[]) => {
    await host.call('udpRequests', '127.0.0.1', fwd.mapping.hostPort, messages, 50);
    await settle(async () => {
      const got = await sunk();
      return messages.every((m) => got.includes(`${pool.gateway}|${m}`));
    }, 'A to get the datagrams');
  };
  const unpinned = ['fwd-unpinned-1', 'fwd-unpinned-2', 'fwd-unpinned-3'];
  await forward(unpinned);
  assert.deepEqual(carrying(control, 'fwd-unpinned-'), unpinned, 'the control gets the flood: A\'s MAC is unknown to the bridge');
  assert.deepEqual(carrying(eavesdropper, 'fwd-'), [], 'B\'s port gets no unicast flood');

  // A bound: its MAC is pinned to its port, so its traffic is no flood at all.
  await host.call('net', {}, 'allowGuest', 'hthvetha', a);
  const pinned = ['fwd-pinned-1', 'fwd-pinned-2', 'fwd-pinned-3'];
  await forward(pinned);
  assert.deepEqual(carrying(control, 'fwd-pinned-'), [], 'not flooded: the bridge knows where A is');
  assert.deepEqual(carrying(eavesdropper, 'fwd-'), []);

  // The control's port learns and no guard judges it: a frame from A's MAC through it would move a pin
  // that is not sticky, and A's traffic with it.
  const toHost = { dstMac: macForIp(pool.gateway), dstIp: pool.gateway, port: 9 };
  frames.send(gc, 'eth0', [udp4({ ...toHost, srcMac: a.mac, srcIp: c.guestIp, payload: 'c-as-a' })]);
  await sleep(300);
  assert.deepEqual((await pins(h)).filter((p) => p.mac === a.mac), [pin('hthvetha', a)], 'the pin stays');
  await forward(['fwd-after-claim']);
  assert.deepEqual(carrying(control, 'fwd-'), unpinned, 'the control got nothing since A was pinned');

  // Host -> A and D -> A over TCP, the way the kernels do it (ARP included).
  const server = await guestA.call<{ port: number }>('tcpEchoServer', '0.0.0.0', 8080);
  assert.deepEqual(await host.call('tcpRequest', a.guestIp, server.port, ['tcp-from-host']), { data: 'tcp-from-host<eof>' });
  assert.deepEqual(await guestD.call('tcpRequest', a.guestIp, server.port, ['tcp-from-d']), { data: 'tcp-from-d<eof>' });

  // Frames to a MAC on no port, from the host (the bridge device) and from D; and one from D to A.
  const nobody = { dstMac: '02:00:00:00:00:77', dstIp: '10.213.0.77', port: 9 };
  frames.send(h, 'fcbr0', [udp4({ ...nobody, srcMac: macForIp(pool.gateway), srcIp: pool.gateway, payload: 'nobody-from-host' })]);
  frames.send(gd, 'eth0', [
    udp4({ ...nobody, srcMac: d.mac, srcIp: d.guestIp, payload: 'nobody-from-d' }),
    udp4({ dstMac: a.mac, dstIp: a.guestIp, port: 5555, srcMac: d.mac, srcIp: d.guestIp, payload: 'frame-from-d' }),
  ]);
  // And one for B itself, which its capture must see (it sees unicast at all).
  await host.call('udpRequests', b.guestIp, 9, ['for-b'], 50);
  await settle(
    async () =>
      carrying(control, 'nobody-').length === 2 &&
      carrying(eavesdropper, 'for-b').length === 1 &&
      (await sunk()).includes(`${d.guestIp}|frame-from-d`),
    'the frames to arrive',
  );
  assert.deepEqual(carrying(control, 'nobody-').sort(), ['nobody-from-d', 'nobody-from-host'], 'the control gets both floods');
  assert.deepEqual(carrying(control, 'tcp-'), [], 'no TCP segment was flooded');

  const stray = eavesdropper.frames().filter((f) => {
    const to = destinationOf(f);
    return !isGroupMac(to) && to !== b.mac;
  });
  assert.deepEqual(stray.map((f) => f.toString('hex')), [], 'B took in nothing but broadcast, multicast and its own');
  assert.ok(eavesdropper.frames().some((f) => destinationOf(f) === 'ff:ff:ff:ff:ff:ff'), 'B still gets broadcast (ARP)');
  for (const m of ['fwd-', 'tcp-', 'nobody-', 'frame-from-d']) assert.deepEqual(carrying(eavesdropper, m), [], m);

  await eavesdropper.stop();
  await control.stop();
  for (const port of ['hthvetha', 'hthvethb', 'hthvethd']) await host.call('net', {}, 'deleteTap', port);
  await ip.deleteLink('htvctl0', { netns: h });
  assert.deepEqual(await pins(h), []);
  await host.call('net', {}, 'removeBridge');
});
