/**
 * PortForwarder in namespace H relaying 127.0.0.1:<port> to a guest in namespace G behind the bridge
 * (see lab.ts). The agent in H runs the forwarder and the clients; the agent in G the guest's servers.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT, guestOnBridge, netTest } from './lab.ts';

interface Opened {
  id: number;
  mapping: { hostIp: string; hostPort: number; protocol: string; targetIp: string; targetPort: number };
}
interface TcpReply {
  data: string;
  error?: string;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

netTest('tcp: host 127.0.0.1 port serves the guest port both ways, with half-close; close() stops it', async (lab) => {
  const net = await guestOnBridge(lab);
  const server = await net.guest.call<{ port: number }>('tcpEchoServer', '0.0.0.0', 8080);
  const fwd = await net.host.call<Opened>('forwardOpen', {
    hostPort: 18080,
    protocol: 'tcp',
    targetIp: net.addr.guestIp,
    targetPort: server.port,
  });
  assert.deepEqual(fwd.mapping, { hostPort: 18080, protocol: 'tcp', targetIp: net.addr.guestIp, targetPort: 8080, hostIp: '127.0.0.1' });

  // The guest writes `<eof>` only after the client's FIN reached it, and the client reads it after that FIN.
  const small = await net.host.call<TcpReply>('tcpRequest', '127.0.0.1', 18080, ['ping ', 'pong'], { gapMs: 50 });
  assert.deepEqual(small, { data: 'ping pong<eof>' });
  const big = 'x'.repeat(4 << 20);
  const large = await net.host.call<TcpReply>('tcpRequest', '127.0.0.1', 18080, [big], { timeoutMs: 10_000 });
  assert.equal(large.error, undefined);
  assert.equal(large.data.length, big.length + '<eof>'.length);
  await eventually('connections to finish', async () => (await net.host.call('forwardConnections', fwd.id)) === 0);

  // Nothing listening on the guest port: the client is reset, the mapping keeps serving.
  const dead = await net.host.call<Opened>('forwardOpen', {
    hostPort: 18081,
    protocol: 'tcp',
    targetIp: net.addr.guestIp,
    targetPort: 9,
  });
  assert.equal((await net.host.call<TcpReply>('tcpRequest', '127.0.0.1', 18081, ['x'])).error, 'ECONNRESET');
  await net.host.call('forwardClose', dead.id);
  assert.deepEqual(await net.host.call('tcpRequest', '127.0.0.1', 18080, ['again']), { data: 'again<eof>' });

  // close(): open connections are destroyed, the port is refused at once and can be bound again at once.
  const held = await net.host.call<{ id: number }>('tcpHold', '127.0.0.1', 18080);
  await eventually('the held connection', async () => (await net.host.call('forwardConnections', fwd.id)) === 1);
  await net.host.call('forwardClose', fwd.id);
  assert.notEqual(await net.host.call('tcpHeldOutcome', held.id, 2_000), 'still-open');
  assert.equal((await net.host.call<TcpReply>('tcpRequest', '127.0.0.1', 18080, ['x'])).error, 'ECONNREFUSED');
  const reopened = await net.host.call<Opened>('forwardOpen', {
    hostPort: 18080,
    protocol: 'tcp',
    targetIp: net.addr.guestIp,
    targetPort: server.port,
  });
  await net.host.call('forwardClose', reopened.id);
  assert.equal(await net.host.call('openForwards'), 0);
  await net.teardown();
});

netTest('udp: per-client sessions both ways, idle sessions end, close() stops it', async (lab) => {
  const net = await guestOnBridge(lab);
  const server = await net.guest.call<{ port: number }>('udpEchoServer', '0.0.0.0', 5353);
  const fwd = await net.host.call<Opened>('forwardOpen', {
    hostPort: 15353,
    protocol: 'udp',
    targetIp: net.addr.guestIp,
    targetPort: server.port,
  });
  // The guest echoes `<sender>:<port>:<message>`; the sender is the host's bridge address.
  const one = await net.host.call<string[]>('udpRequests', '127.0.0.1', 15353, ['a', 'b']);
  const two = await net.host.call<string[]>('udpRequests', '127.0.0.1', 15353, ['c']);
  const parse = (r: string | undefined): { from: string; msg: string } => {
    const m = /^(10\.213\.0\.1:\d+):(.*)$/.exec(r ?? '');
    assert.ok(m, `unexpected reply ${r}`);
    return { from: m[1]!, msg: m[2]! };
  };
  const [a, b, c] = [parse(one[0]), parse(one[1]), parse(two[0])];
  assert.deepEqual([a.msg, b.msg, c.msg], ['a', 'b', 'c']);
  assert.equal(a.from, b.from, 'one client, one session');
  assert.notEqual(a.from, c.from, 'another client, another session');
  assert.equal(await net.host.call('forwardConnections', fwd.id), 2);
  await eventually('idle sessions to end', async () => (await net.host.call('forwardConnections', fwd.id)) === 0);

  await net.host.call('forwardClose', fwd.id);
  assert.deepEqual(await net.host.call('udpRequests', '127.0.0.1', 15353, ['d'], 500), [null]);
  await net.teardown();
});

netTest('a host port bound anywhere is refused with HEARTH_ERR_PORT_IN_USE naming the port', async (lab) => {
  const h = await lab.netns();
  const host = lab.agent(h, AGENT);
  const mapping = { hostPort: 18090, protocol: 'tcp', targetIp: '10.213.0.2', targetPort: 80 };
  const first = await host.call<Opened>('forwardOpen', mapping);
  await assert.rejects(host.call('forwardOpen', mapping), {
    kind: 'AlreadyExists',
    code: 'HEARTH_ERR_PORT_IN_USE',
    message: /18090/,
  });
  await assert.rejects(host.call('forwardOpen', { ...mapping, hostIp: '0.0.0.0' }), { code: 'HEARTH_ERR_PORT_IN_USE' });
  // Same number, other protocol: no conflict.
  const udp = await host.call<Opened>('forwardOpen', { ...mapping, protocol: 'udp' });
  await assert.rejects(host.call('forwardOpen', { ...mapping, protocol: 'udp' }), { code: 'HEARTH_ERR_PORT_IN_USE' });

  // Bound by someone else, on the wildcard address.
  await host.call('tcpListen', '0.0.0.0', 18091);
  await assert.rejects(host.call('forwardOpen', { ...mapping, hostPort: 18091 }), {
    code: 'HEARTH_ERR_PORT_IN_USE',
    message: /18091/,
  });
  await host.call('udpBind', '127.0.0.1', 18092);
  await assert.rejects(host.call('forwardOpen', { ...mapping, hostPort: 18092, protocol: 'udp' }), {
    code: 'HEARTH_ERR_PORT_IN_USE',
  });

  for (const bad of [
    { ...mapping, protocol: 'sctp' },
    { ...mapping, hostPort: 70000 },
    { ...mapping, targetPort: 0 },
    { ...mapping, targetIp: 'guest' },
    { ...mapping, hostIp: '127.0.0.300' },
  ]) {
    await assert.rejects(host.call('forwardOpen', bad), { kind: 'InvalidArgument', code: 'HEARTH_ERR_NET_INVALID_PORT_MAPPING' });
  }
  assert.equal(await host.call('openForwards'), 2, 'failed opens leave nothing behind');
  await host.call('forwardClose', first.id);
  await host.call('forwardClose', udp.id);
  assert.equal(await host.call('openForwards'), 0);
});
