/**
 * The one place that chooses implementations: from the configuration, the real image store, host network
 * (bridge, anti-spoofing, NAT, port forwards), microVM launcher (accelerator, VMM jail, QEMU driver) and volume disks
 * that the containers layer runs on. Tests hand `buildApp` fakes of the same `ContainerDeps` instead.
 * @module
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HearthConfig } from '../config.ts';
import type { ContainerDeps } from '../containers/deps.ts';
import { imageUsers } from '../containers/image-users.ts';
import { ImageStore } from '../images/image-store.ts';
import { AddressPool, HostNetwork, PortForwarder } from '../network/index.ts';
import type { ContainerStore } from '../store/container-store.ts';
import { HostContainerNetwork } from './container-network.ts';
import { createMicroVmLauncher } from './launcher.ts';
import { VolumeDisks } from '../volumes/volume-disks.ts';

export async function hostDeps(config: HearthConfig, log: Logger, store: ContainerStore): Promise<ContainerDeps & { images: ImageStore }> {
  const { launcher, scratch, accel, jail } = await createMicroVmLauncher({
    cacheDir: config.cacheDir,
    vmsDir: join(config.dataDir, 'vms'),
    vmm: config.vm.vmm,
    accel: config.vm.accel,
    scratchSizeMib: config.vm.scratchSizeMib,
    probeCacheFile: join(config.dataDir, 'accel.json'),
    jail: { enabled: config.vm.jail, uidBase: config.vm.jailUidBase, uidCount: config.vm.jailUidCount },
    snapshots: config.vm.snapshots,
    warn: (message) => log.warn({ part: 'sandbox' }, message),
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
  const forwarder = new PortForwarder({
    defaultHostIp: config.network.portHostIp,
    onError: (e, m) => log.warn({ err: e, hostPort: m.hostPort, protocol: m.protocol, target: `${m.targetIp}:${m.targetPort}` }, `port forward: ${e.message}`),
  });
  const volumes = new VolumeDisks(join(config.dataDir, 'volumes'), (destination, sizeMib) => scratch.create(destination, sizeMib));
  const writableLayers = { ensure: (path: string) => scratch.ensure(path, config.vm.scratchSizeMib) };
  return { images, network: new HostContainerNetwork(host, forwarder), sandboxes: launcher, volumes, writableLayers };
}
