/**
 * What `ContainerNetwork` (src/containers/deps.ts) promises the containers layer, as one set of cases that
 * every implementation runs: HostContainerNetwork over a real bridge and the fake the containers tests use
 * (test/containers/fakes.ts).
 *
 * The containers layer relies on: each VM its own address, MAC and tap; a pool that runs out with an
 * Unavailable error and takes back what is detached; an address `reserve`d by a restarted manager never
 * handed to another VM; `detach` safe to repeat (a release that failed half-way is tried again) and never
 * freeing what another VM holds since; `listTaps`/`deleteTap` for the sweep of taps nobody owns; `openPort`
 * refusing a host port anyone holds, with a HearthError naming it, and `close` giving it back.
 * @module
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ContainerNetwork, NetworkAttachment, PortRule } from '../../src/containers/deps.ts';
import { HearthError } from '../../src/errors.ts';
import { freePort } from '../helpers/registry.ts';

export interface NetworkSubject {
  /**
   * The network as a newly started manager process has it: nothing held in memory (addresses, port
   * forwards), the host as it is (taps stay). Calling it again is a manager restart; a case then uses only
   * the newest.
   */
  open(): ContainerNetwork;
  /** How many guest addresses the pool holds: few, so that a case can take them all. */
  capacity: number;
  /** Something other than the network binds TCP `port` on 127.0.0.1, until the returned function is called. */
  occupyPort(port: number): Promise<() => Promise<void>>;
  /** After each case: removes whatever it left (taps, port forwards) and forgets every address. */
  reset(): Promise<void>;
  /** After the cases. */
  close?(): Promise<void>;
}

const vm = () => randomUUID();
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const exhausted = (e: unknown) => e instanceof HearthError && e.kind === 'Unavailable' && e.code === 'HEARTH_ERR_NET_POOL_EXHAUSTED';
const portInUse = (port: number) => (e: unknown) =>
  e instanceof HearthError && e.kind === 'AlreadyExists' && e.code === 'HEARTH_ERR_PORT_IN_USE' && e.message.includes(String(port));

export function containerNetworkContract(name: string, makeSubject: () => Promise<NetworkSubject>): void {
  describe(`ContainerNetwork contract: ${name}`, () => {
    let s: NetworkSubject;
    before(async () => {
      s = await makeSubject();
    });
    afterEach(async () => {
      await s.reset();
    });
    after(async () => {
      await s?.close?.();
    });

    /** Attaches `n` VMs. */
    async function attachMany(net: ContainerNetwork, n: number): Promise<Array<{ id: string; a: NetworkAttachment }>> {
      const out = [];
      for (let i = 0; i < n; i++) {
        const id = vm();
        out.push({ id, a: await net.attach(id) });
      }
      return out;
    }

    it('attach gives each VM its own address, MAC and tap, on the host until it is detached', async () => {
      const net = s.open();
      const [idA, idB] = [vm(), vm()];
      const a = await net.attach(idA);
      const b = await net.attach(idB);
      assert.notEqual(a.guestIp, b.guestIp);
      assert.notEqual(a.mac, b.mac);
      assert.notEqual(a.tap, b.tap);
      for (const x of [a, b]) {
        assert.match(x.mac, MAC);
        assert.equal(parseInt(x.mac.slice(0, 2), 16) & 0b11, 0b10, 'a unicast, locally administered MAC');
        assert.notEqual(x.guestIp, x.gateway);
        assert.ok(Number.isInteger(x.prefixLength) && x.prefixLength >= 8 && x.prefixLength <= 30, `prefix ${x.prefixLength}`);
      }
      assert.deepEqual([a.gateway, a.prefixLength], [b.gateway, b.prefixLength], 'one subnet, one gateway');
      assert.deepEqual((await net.listTaps()).sort(), [a.tap, b.tap].sort());
      await net.detach(idA, a);
      assert.deepEqual(await net.listTaps(), [b.tap], 'a detached tap is gone from the host');
      await net.detach(idB, b);
      assert.deepEqual(await net.listTaps(), []);
    });

    it('the pool runs out with Unavailable; detach gives the address back; a second detach frees nothing another VM holds', async () => {
      const net = s.open();
      const held = await attachMany(net, s.capacity);
      assert.equal(new Set(held.map((h) => h.a.guestIp)).size, s.capacity, 'every address once');
      await assert.rejects(net.attach(vm()), exhausted);
      assert.equal((await net.listTaps()).length, s.capacity, 'the failed attach left no tap');

      const [first, ...rest] = held as [(typeof held)[0], ...typeof held];
      await net.detach(first.id, first.a);
      const nextId = vm();
      const next = { id: nextId, a: await net.attach(nextId) };
      assert.equal(next.a.guestIp, first.a.guestIp, 'the one free address: the detached one');

      await net.detach(first.id, first.a); // a release tried again after a failure
      await assert.rejects(net.attach(vm()), exhausted, "the second detach did not free the address another VM now holds");
      assert.ok((await net.listTaps()).includes(next.a.tap), "nor delete that VM's tap");

      for (const h of [...rest, next]) await net.detach(h.id, h.a);
      assert.deepEqual(await net.listTaps(), []);
    });

    it('an address reserved by a restarted manager is never handed out by attach', async () => {
      const idA = vm();
      const a = await s.open().attach(idA);
      const net = s.open(); // the manager restarts; the VM and its tap live on
      assert.deepEqual(await net.listTaps(), [a.tap], 'taps outlive the process that made them');
      await net.reserve(idA, a);
      const others = await attachMany(net, s.capacity - 1);
      assert.ok(others.every((o) => o.a.guestIp !== a.guestIp), `${a.guestIp} was handed out again`);
      await assert.rejects(net.attach(vm()), exhausted);
      for (const o of others) await net.detach(o.id, o.a);
      await net.detach(idA, a);
      assert.deepEqual(await net.listTaps(), []);
    });

    it('deleteTap removes a tap by name; detach afterwards is safe and still gives the address back', async () => {
      const net = s.open();
      const [idA, idB] = [vm(), vm()];
      const a = await net.attach(idA);
      const b = await net.attach(idB);
      await net.deleteTap(a.tap);
      assert.deepEqual(await net.listTaps(), [b.tap]);
      await net.detach(idA, a);
      const more = await attachMany(net, s.capacity - 1); // every address but b's: a's is free again
      for (const m of [...more, { id: idB, a: b }]) await net.detach(m.id, m.a);
      assert.deepEqual(await net.listTaps(), []);
    });

    it('openPort refuses a host port already forwarded, naming it; the other protocol is another port; close frees it, once', async () => {
      const net = s.open();
      const port = await freePort();
      const rule: PortRule = { hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp', targetIp: '10.99.0.2', targetPort: 80 };
      const first = await net.openPort(rule);
      await assert.rejects(net.openPort({ ...rule, targetPort: 81 }), portInUse(port));
      const udp = await net.openPort({ ...rule, protocol: 'udp' });
      await first.close();
      const second = await net.openPort(rule);
      await first.close(); // closing again must not free the port for a third
      await assert.rejects(net.openPort(rule), portInUse(port), 'a second close freed a port it no longer held');
      await second.close();
      await udp.close();
    });

    it('openPort refuses a host port something else on the host holds, with the same error', async () => {
      const net = s.open();
      const port = await freePort();
      const rule: PortRule = { hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp', targetIp: '10.99.0.2', targetPort: 80 };
      const free = await s.occupyPort(port);
      try {
        await assert.rejects(net.openPort(rule), portInUse(port));
      } finally {
        await free();
      }
      await (await net.openPort(rule)).close();
    });
  });
}
