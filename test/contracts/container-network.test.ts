/**
 * The network contract (./container-network.case.ts) against the fake the containers tests use and against
 * HostContainerNetwork over a real bridge, taps, nft table and port forwarder. The whole file runs in a
 * network namespace of its own (test/helpers/inside-netns.ts), on a bridge and a /29 pool of its own.
 */
import net from 'node:net';
import { HostContainerNetwork } from '../../src/assemble/container-network.ts';
import { AddressPool, HostNetwork, PortForwarder } from '../../src/network/index.ts';
import { FakeNetwork } from '../containers/fakes.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { containerNetworkContract } from './container-network.case.ts';

await enterTestNetns(import.meta.url);

/** Something other than the network holding a host port. */
async function listenOn(port: number): Promise<() => Promise<void>> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, resolve);
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

const CAPACITY = 5;

containerNetworkContract('FakeNetwork', async () => {
  let fake = new FakeNetwork({ capacity: CAPACITY });
  return {
    capacity: CAPACITY,
    open() {
      fake.restartProcess();
      return fake;
    },
    async occupyPort(port) {
      const f = fake;
      f.busyPorts.add(port);
      return async () => void f.busyPorts.delete(port);
    },
    async reset() {
      fake = new FakeNetwork({ capacity: CAPACITY });
    },
  };
});

containerNetworkContract('HostContainerNetwork', async () => {
  const host = new HostNetwork({ bridge: 'hcbr0', pool: new AddressPool('10.250.7.0/29') });
  await host.ensureBridge();
  const forwarders: PortForwarder[] = [];
  return {
    capacity: host.pool.capacity,
    open() {
      const forwarder = new PortForwarder();
      forwarders.push(forwarder);
      return new HostContainerNetwork(host, forwarder);
    },
    occupyPort: listenOn,
    async reset() {
      for (const f of forwarders.splice(0)) await f.closeAll();
      for (const tap of await host.listTaps()) await host.deleteTap(tap);
    },
    async close() {
      await host.removeBridge();
    },
  };
});
