/**
 * The manager process: configuration, data directory, store, the lower layers, then `buildApp` and listen.
 * Stops cleanly on SIGINT/SIGTERM, leaving running VMs for the next start to adopt.
 * @module
 */
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.ts';
import { loadConfig, type HearthConfig } from './config.ts';
import type { ContainerDeps } from './containers/deps.ts';
import { prepareDataDir } from './data-dir.ts';
import { describeError } from './errors.ts';
import { HostContainerNetwork } from './containers/host-network-adapter.ts';
import { imageUsers } from './containers/image-users.ts';
import { ImageStore } from './images/image-store.ts';
import { AddressPool, HostNetwork, PortForwarder } from './network/index.ts';
import { createMicroVmLauncher } from './sandbox/create-launcher.ts';
import { ContainerStore } from './store/container-store.ts';

/** The real image store, host network (bridge, NAT, port forwards) and microVM launcher. */
async function realDeps(config: HearthConfig, log: Logger, store: ContainerStore): Promise<ContainerDeps & { images: ImageStore }> {
  const { launcher, accel, jail } = await createMicroVmLauncher({
    cacheDir: config.cacheDir,
    vmsDir: join(config.dataDir, 'vms'),
    vmm: config.vm.vmm,
    accel: config.vm.accel,
    scratchSizeMib: config.vm.scratchSizeMib,
    probeCacheFile: join(config.dataDir, 'accel.json'),
    jail: { enabled: config.vm.jail, uidBase: config.vm.jailUidBase, uidCount: config.vm.jailUidCount },
  });
  log.info({ accel: accel.accel, reason: accel.reason }, `VMs run with ${accel.accel}`);
  if (!jail) {
    log.warn('VMM jailing is off (HEARTH_JAIL=off): every VMM runs as root with all capabilities, no seccomp filter and the host\'s whole filesystem');
  } else if (!jail.cgroups) {
    log.warn('no cgroup v1 or v2 hierarchy found: VMMs run without CPU, memory and pids limits');
  }
  const host = new HostNetwork({ bridge: config.network.bridge, pool: new AddressPool(config.network.subnet) });
  await host.ensureBridge();
  if (config.network.nat) await host.enableNat();
  const images = new ImageStore({
    dataDir: config.dataDir,
    mirrors: config.registry.mirrors,
    insecure: config.registry.insecure,
    ...(config.registry.authFile ? { authFile: config.registry.authFile } : {}),
    usage: imageUsers(store),
    ...config.images,
    log: log.child({ part: 'images' }),
  });
  const forwarder = new PortForwarder({ defaultHostIp: config.network.portHostIp });
  return { images, network: new HostContainerNetwork(host, forwarder), sandboxes: launcher };
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  const log = pino({ level: config.logLevel });
  const looser = prepareDataDir(config.dataDir);
  if (looser !== undefined) log.warn({ dataDir: config.dataDir }, `data directory was mode ${looser.toString(8)}; made it 700`);
  const store = await ContainerStore.openSqlite(join(config.dataDir, 'hearth.db'));
  const deps = await realDeps(config, log, store);
  const app = await buildApp({ config, store, logger: log, ...deps });
  // collects once now (finishing what a collection killed half-way left), then on its timer
  deps.images.start();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; running containers keep running');
    await app.close();
    await deps.images.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await app.listen({ host: config.listen.host, port: config.listen.port });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    const message =
      err.code === 'EADDRINUSE' ? `the address is already in use: ${err.message}` : describeError(e);
    process.stderr.write(`hearth: ${message}\n`);
    process.exit(1);
  });
}
