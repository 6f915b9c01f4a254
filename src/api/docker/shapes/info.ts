/**
 * `GET /info` in Docker's shape from facts about this Hearth: counts by Docker's state names, the host's
 * CPUs and memory, and where Docker would name a storage driver and a runtime, what Hearth really uses
 * (every container is a microVM with its own guest kernel, booted by `vmm`).
 * @module
 */
import type { ContainerState } from '../../../model/index.ts';
import { dockerStatus } from './container-state.ts';

export interface InfoFacts {
  version: string;
  hostname: string;
  kernel: string;
  arch: string;
  cpus: number;
  memoryBytes: number;
  dataDir: string;
  vmm: string;
  accel: string;
  bridge: string;
  containers: ContainerState[];
  vms: number;
  images: number;
  /** The manager's registry settings: mirrors by registry host, and hosts spoken to over plain HTTP. */
  registry: { mirrors: Record<string, string[]>; insecure: string[] };
}

export function dockerInfo(f: InfoFacts): Record<string, unknown> {
  const statuses = f.containers.map(dockerStatus);
  const count = (s: string) => statuses.filter((x) => x === s).length;
  return {
    ID: '',
    Containers: f.containers.length,
    ContainersRunning: count('running') + count('restarting'),
    ContainersPaused: count('paused'),
    ContainersStopped: f.containers.length - count('running') - count('restarting') - count('paused'),
    Images: f.images,
    Driver: 'hearth',
    DriverStatus: [
      ['Isolation', 'one microVM per container, each with its own guest kernel'],
      ['VMM', `${f.vmm} (accel ${f.accel})`],
      ['Virtual machines', String(f.vms)],
    ],
    Plugins: { Volume: ['local'], Network: ['bridge'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: false,
    CPUSet: false,
    PidsLimit: false,
    OomKillDisable: false,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'none',
    CgroupVersion: '2',
    NEventsListener: 0,
    KernelVersion: f.kernel,
    OperatingSystem: `Hearth ${f.version}`,
    OSVersion: '',
    OSType: 'linux',
    Architecture: f.arch,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfig(f.registry),
    NCPU: f.cpus,
    MemTotal: f.memoryBytes,
    GenericResources: null,
    DockerRootDir: f.dataDir,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: f.hostname,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: f.version,
    Runtimes: { 'hearth-microvm': { path: f.vmm } },
    DefaultRuntime: 'hearth-microvm',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: ['name=microvm'],
    Warnings: [],
    DefaultAddressPools: [],
    CDISpecDirs: [],
    Containerd: null,
  };
}

/**
 * dockerd's RegistryConfig (`docker info` prints its mirrors and insecure registries; scripts read
 * `.RegistryConfig.Mirrors`): docker.io's mirrors, each configured registry as an index, and loopback
 * insecure, as Hearth always treats it.
 */
function registryConfig(r: InfoFacts['registry']) {
  const hubMirrors = (r.mirrors['docker.io'] ?? []).map((m) => (m.endsWith('/') ? m : `${m}/`));
  const index = (name: string) => ({ Name: name, Mirrors: (r.mirrors[name] ?? []).map((m) => (m.endsWith('/') ? m : `${m}/`)), Secure: !r.insecure.includes(name), Official: name === 'docker.io' });
  const names = [...new Set(['docker.io', ...Object.keys(r.mirrors), ...r.insecure])];
  return {
    InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'],
    IndexConfigs: Object.fromEntries(names.map((n) => [n, index(n)])),
    Mirrors: hubMirrors,
  };
}
