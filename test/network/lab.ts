/**
 * Shared set-up for the network tests: `netTest` runs a test in fresh namespaces (test/helpers/netns.ts) and
 * asserts afterwards that the host's own namespace looks exactly as before (our interface names, nft tables,
 * ip_forward); `guestOnBridge` builds "host" namespace H with the bridge and a "guest" namespace G whose
 * eth0 is a veth attached to the bridge, standing in for a VM's NIC on its tap.
 *
 * Addresses: pool 10.213.0.0/22 (the default) inside H/G; 198.51.100.0/24 (TEST-NET-2) between H and the
 * "outside" namespace O of the NAT test. All of it exists only inside the test's namespaces.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AddressPool, type GuestAddress } from '../../src/network/address-pool.ts';
import * as ip from '../../src/tools/ip.ts';
import { nftListTables } from '../../src/tools/nft.ts';
import { withLab, type Lab, type NodeAgent } from '../helpers/netns.ts';

export const AGENT = fileURLToPath(new URL('./fixtures/net-agent.ts', import.meta.url));
export const pool = new AddressPool();

/** Interface names the tests create anywhere; none may ever appear in the host's namespace. */
const OUR_NAMES = /^(hth|htv|fcbr0|hbr)/;

async function hostFootprint(): Promise<{ links: string[]; nft: string[]; ipForward: string }> {
  return {
    links: (await ip.listLinks()).map((l) => l.name).filter((n) => OUR_NAMES.test(n)),
    nft: (await nftListTables()).map((t) => `${t.family} ${t.name}`).sort(),
    ipForward: (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(),
  };
}

export function netTest(name: string, fn: (lab: Lab) => Promise<void>): void {
  test(name, { timeout: 120_000 }, async () => {
    const before = await hostFootprint();
    await withLab(fn);
    assert.deepEqual(await hostFootprint(), before, 'the host namespace was changed');
  });
}

/** Names of the interfaces in a namespace. */
export async function linkNames(netns: string): Promise<string[]> {
  return (await ip.listLinks({ netns })).map((l) => l.name).sort();
}

export interface GuestLab {
  h: string;
  g: string;
  host: NodeAgent;
  guest: NodeAgent;
  addr: GuestAddress;
  /** Detaches the guest and removes the bridge; H is left with only `lo`. */
  teardown(): Promise<void>;
}

/** H with the bridge (via HostNetwork.ensureBridge), G with eth0 = a veth whose H end is on the bridge. */
export async function guestOnBridge(lab: Lab, options: { attach?: boolean } = {}): Promise<GuestLab> {
  const h = await lab.netns();
  const g = await lab.netns();
  const host = lab.agent(h, AGENT);
  const guest = lab.agent(g, AGENT);
  await host.call('net', {}, 'ensureBridge');
  const addr = pool.allocate([]);
  await ip.addVethPair('htvh0', { name: 'eth0', netns: g }, { netns: h });
  if (options.attach !== false) await attachGuest(h);
  await ip.setLink('eth0', { up: true }, { netns: g });
  await ip.addAddress('eth0', addr.guestIp, addr.prefixLength, { netns: g });
  await ip.addRoute('default', { gateway: addr.gateway }, { netns: g });
  return {
    h,
    g,
    host,
    guest,
    addr,
    async teardown() {
      await ip.deleteLink('htvh0', { netns: h });
      await host.call('net', {}, 'removeBridge');
      assert.deepEqual(await linkNames(h), ['lo']);
    },
  };
}

export async function attachGuest(h: string): Promise<void> {
  await ip.setLink('htvh0', { master: 'fcbr0', up: true }, { netns: h });
}
