/**
 * A container cannot listen in on another's traffic, end to end, with the real manager and real VMs: B
 * captures its eth0 in promiscuous mode (test/fixtures/programs/capture-frames.c) while A, a server that
 * never answers (udp-sink.c), gets datagrams through its UDP port mapping. None reaches B, though the
 * bridge's ageing time is cut to 1 s: a bridge that learnt where A is would forget it at once and flood
 * A's traffic to every tap, as it does after 300 s by default. B's capture is shown to work: it takes in
 * broadcast, and unicast for a MAC on no port once its tap is let have floods again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { getBridgePort, listFdb, setBridgePortFlags } from '../../src/tools/bridge.ts';
import { setNeighbour } from '../../src/tools/ip.ts';
import { busyboxEntries } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { Api, E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { freePort } from '../helpers/registry.ts';
import { compileProgram } from '../network/frames.ts';

await enterTestNetns(import.meta.url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** In every payload this test sends, so B's capture prints only those frames. */
const MARKER = 'hearth-flood-test';
const SUBNET_BROADCAST = '10.213.3.255';

/** `netlab:latest`: busybox with /capture-frames and /udp-sink. */
async function pushNetlab(registryUrl: string): Promise<void> {
  const programs = ['capture-frames', 'udp-sink'].map((name) => {
    const binary = compileProgram(name);
    try {
      return { path: name, content: readFileSync(binary), mode: 0o755 };
    } finally {
      rmSync(binary, { force: true });
    }
  });
  await pushImage(new Pusher(registryUrl), 'library/netlab', 'latest', [{ entries: busyboxEntries() }, { entries: programs }], {
    config: { Cmd: ['sh'] },
  });
}

async function vmOf(api: Api, id: string): Promise<{ guest_ip: string; mac: string; tap: string }> {
  const item = await api.get(id);
  const vm = await api.call('GET', `/v1/vms/${(item.container_runtime_id as string).replace(/^vm-/, '')}`);
  assert.equal(vm.status, 200, vm.text);
  return vm.body.item;
}

async function messages(api: Api, id: string): Promise<string[]> {
  return (await api.logs(id)).map((l) => l.message);
}

async function waitForLog(api: Api, id: string, has: (lines: string[]) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!has(await messages(api, id))) {
    if (Date.now() > deadline) throw new Error(`no ${what} in the log of ${id}: ${JSON.stringify(await messages(api, id))}`);
    await sleep(200);
  }
}

/** The payloads B's capture printed (each frame's bytes from the marker on). */
async function captured(api: Api, id: string): Promise<string[]> {
  return (await messages(api, id))
    .filter((m) => /^[0-9a-f]+$/.test(m))
    .map((hex) => {
      const frame = Buffer.from(hex, 'hex');
      return frame.subarray(frame.indexOf(MARKER)).toString('latin1');
    });
}

async function sendUdp(host: string, port: number, payload: string, broadcast = false): Promise<void> {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve) => sock.bind(0, () => resolve()));
    sock.setBroadcast(broadcast);
    await new Promise<void>((resolve, reject) => sock.send(payload, port, host, (e) => (e ? reject(e) : resolve())));
  } finally {
    sock.close();
  }
}

describe('a container cannot receive another container\'s traffic', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({}, async (registry) => {
      await pushNetlab(registry.url);
      return {};
    });
  });
  after(async () => {
    await world?.close();
  });

  it('a promiscuous neighbour takes in none of a silent container\'s port-forwarded datagrams', async () => {
    const { api } = world;
    // Learnt entries now age out in 1 s (the unit is 1/100 s); Hearth's pins never age.
    // Through netlink: /sys shows the host's interfaces, not this namespace's.
    execFileSync('ip', ['link', 'set', 'dev', 'fcbr0', 'type', 'bridge', 'ageing_time', '100']);

    // Privileged: the strongest guest an attacker can have, every capability of its kernel.
    const b = await api.create({ name: 'eavesdropper', image: 'netlab:latest', args: ['/capture-frames', 'eth0', MARKER], privileged: true });
    assert.equal((await api.waitFor(b, ['running', 'error', 'exited'])).state, 'running');
    await waitForLog(api, b, (l) => l.includes('capturing eth0'), 'capture');
    const eavesdropper = await vmOf(api, b);

    const hostPort = await freePort();
    const a = await api.create({
      name: 'silent',
      image: 'netlab:latest',
      args: ['/udp-sink', '7777'],
      port_mappings: [{ container_port: 7777, host_port: hostPort, protocol: 'udp' }],
    });
    assert.equal((await api.waitFor(a, ['running', 'error', 'exited'])).state, 'running');
    await waitForLog(api, a, (l) => l.includes('listening 7777'), 'listening');
    const silent = await vmOf(api, a);

    // Each tap as the network layer made it: isolated, its guest's MAC pinned.
    for (const vm of [eavesdropper, silent]) {
      const port = await getBridgePort(vm.tap);
      assert.deepEqual(
        port && { master: port.master, learning: port.learning, flood: port.flood, bcastFlood: port.bcastFlood },
        { master: 'fcbr0', learning: false, flood: false, bcastFlood: true },
      );
    }
    const pins = (await listFdb('fcbr0')).filter((e) => e.dev.startsWith('hth') && e.state !== 'permanent');
    assert.deepEqual(
      pins.map((e) => `${e.mac} ${e.dev} ${e.state}`).sort(),
      [`${eavesdropper.mac} ${eavesdropper.tap} static`, `${silent.mac} ${silent.tap} static`].sort(),
      'the guests\' MACs are pinned and nothing is learnt',
    );

    // Over 5 s, far past the ageing time: a bridge that relied on learning would flood most of these.
    const sent: string[] = [];
    for (let i = 1; i <= 10; i++) {
      sent.push(`${MARKER}-fwd-${i}`);
      await sendUdp('127.0.0.1', hostPort, sent.at(-1)!);
      await sleep(500);
    }
    await waitForLog(api, a, (l) => sent.every((m) => l.includes(m)), 'every datagram');
    await sendUdp(SUBNET_BROADCAST, 9, `${MARKER}-broadcast`, true);
    await waitForLog(api, b, (l) => l.some((m) => Buffer.from(m, 'hex').includes(`${MARKER}-broadcast`)), 'the broadcast');
    await sleep(500);
    assert.deepEqual(
      (await captured(api, b)).filter((p) => p.includes('-fwd-')),
      [],
      'B took in none of A\'s datagrams',
    );

    // B's capture does take in unicast for others whenever the bridge sends it some: with its tap let have
    // floods (as every tap had before isolation), a datagram to a MAC on no port reaches it.
    await setNeighbour('fcbr0', '10.213.3.250', '02:00:00:00:00:77', 'permanent');
    await sendUdp('10.213.3.250', 9, `${MARKER}-nobody-isolated`);
    await setBridgePortFlags(eavesdropper.tap, { flood: true });
    await sendUdp('10.213.3.250', 9, `${MARKER}-nobody-flooded`);
    await waitForLog(api, b, (l) => l.some((m) => Buffer.from(m, 'hex').includes(`${MARKER}-nobody-flooded`)), 'the flood');
    assert.deepEqual((await captured(api, b)).filter((p) => p.includes('-nobody-')), [`${MARKER}-nobody-flooded`]);

    for (const id of [a, b]) assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
    assert.deepEqual((await listFdb('fcbr0')).filter((e) => e.state !== 'permanent'), [], 'no pin is left');
  });
});
