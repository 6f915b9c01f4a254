/**
 * A Hearth container in Docker's shapes: the summary `GET /containers/json` lists (what `docker ps` prints)
 * and the document `GET /containers/{id}/json` returns (what `docker inspect --format` reads). Pure: the
 * route gathers the facts (the image's config and id, the VM's network) and these only translate.
 * @module
 */
import { DEFAULT_NETWORK, hostnameOf, type ContainerRecord, type HealthcheckSpec, type NetworkMembership } from '../../../model/index.ts';
import { dockerStatus } from './container-state.ts';

/** What the route knows beside the record. */
export interface ContainerFacts {
  /** `sha256:<config digest>`, or '' if the image is not (yet) here. */
  imageId: string;
  /** The image's process settings (null if the image is not here). */
  image: { entrypoint: string[]; cmd: string[]; env: string[]; workingDir: string; user: string; labels: Record<string, string>; exposedPorts: string[] } | null;
  /** The bridge's name, the guest's gateway and MAC while a VM runs. */
  network: { bridge: string; gateway: string | null; prefixLength: number | null; mac: string | null };
  /** Network names to ids (model/network.ts): every network is the one bridge, under a name of its own. */
  networkIds: ReadonlyMap<string, string>;
  /** The VMM's pid while it runs (Docker's State.Pid is the process's; a VM's is its VMM's). */
  pid: number | null;
  /** A policy restart is waiting out its backoff: Docker's `restarting`. */
  restartPending: boolean;
  now: Date;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The process the container runs, as Docker reports it: Path and Args. */
export function commandOf(c: ContainerRecord, image: ContainerFacts['image']): string[] {
  const entrypoint = c.entrypoint ?? image?.entrypoint ?? [];
  const cmd = c.args.length > 0 ? c.args : c.entrypoint !== null && c.entrypoint.length > 0 ? [] : (image?.cmd ?? []);
  return [...entrypoint, ...cmd];
}

/** go-units' HumanDuration, which `docker ps` shows ("Up 3 seconds", "Exited (0) 2 minutes ago"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** Docker's exit code: the process's, else 128 for a run that failed before or without one. */
export function exitCodeOf(c: ContainerRecord): number {
  return c.exit_code ?? (c.state === 'error' ? 128 : 0);
}

/** Docker's created (never started) is Hearth's stopped with no run on record. */
export function statusOf(c: ContainerRecord) {
  if (c.state === 'stopped' && c.started_at === null && c.finished_at === null) return 'created' as const;
  return dockerStatus(c.state);
}

/** What `docker ps` and `inspect` show: an exited container whose policy restart is pending is `restarting`. */
export function shownStatus(c: ContainerRecord, facts: Pick<ContainerFacts, 'restartPending'>) {
  const status = statusOf(c);
  return status === 'exited' && facts.restartPending ? ('restarting' as const) : status;
}

export function statusText(c: ContainerRecord, facts: Pick<ContainerFacts, 'restartPending' | 'now'>): string {
  const since = (t: string | null) => humanDuration(facts.now.getTime() - Date.parse(t ?? c.created_at));
  switch (shownStatus(c, facts)) {
    case 'created':
      return 'Created';
    case 'restarting':
      return `Restarting (${exitCodeOf(c)}) ${since(c.finished_at)} ago`;
    case 'running':
    case 'paused': {
      const health = c.health ? ` (${c.health.status === 'starting' ? 'health: starting' : c.health.status})` : '';
      return `Up ${since(c.started_at)}${c.state === 'paused' ? ' (Paused)' : ''}${health}`;
    }
    default:
      return c.finished_at === null ? `Exited (${exitCodeOf(c)})` : `Exited (${exitCodeOf(c)}) ${since(c.finished_at)} ago`;
  }
}

interface DockerPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

function ports(c: ContainerRecord, facts: ContainerFacts): DockerPort[] {
  const published = c.port_mappings.map((p) => ({ IP: p.host_ip ?? '0.0.0.0', PrivatePort: p.container_port, PublicPort: p.host_port, Type: p.protocol }));
  const exposedOnly = (facts.image?.exposedPorts ?? [])
    .map((e) => e.split('/') as [string, string?])
    .filter(([port, proto = 'tcp']) => !c.port_mappings.some((p) => p.container_port === Number(port) && p.protocol === proto))
    .map(([port, proto = 'tcp']) => ({ PrivatePort: Number(port), Type: proto }));
  return [...published, ...exposedOnly];
}

const anonymous = (v: ContainerRecord['volumes'][number]) => v.name === null && v.host_path === null;

function mounts(c: ContainerRecord) {
  return c.volumes.map((v) =>
    anonymous(v)
      ? { Type: 'volume', Name: '', Source: '', Destination: v.container_path, Driver: 'local', Mode: v.readonly ? 'ro' : 'z', RW: !v.readonly, Propagation: '' }
      : v.name !== null
      ? { Type: 'volume', Name: v.name, Source: '', Destination: v.container_path, Driver: 'local', Mode: v.readonly ? 'ro' : 'z', RW: !v.readonly, Propagation: '' }
      : { Type: 'bind', Source: v.host_path ?? '', Destination: v.container_path, Mode: v.readonly ? 'ro' : '', RW: !v.readonly, Propagation: 'rprivate' },
  );
}

/** The networks it is on (its own, else `bridge`), as `NetworkSettings.Networks`. */
function endpoints(c: ContainerRecord, facts: ContainerFacts) {
  const joined: NetworkMembership[] = c.networks.length > 0 ? c.networks : [{ network: DEFAULT_NETWORK, aliases: [] }];
  return Object.fromEntries(joined.map((m) => [m.network, endpoint(c, facts, m)]));
}

/** The first network it joined: what `docker run --network` named. */
const networkMode = (c: ContainerRecord) => c.networks[0]?.network ?? DEFAULT_NETWORK;

function endpoint(c: ContainerRecord, facts: ContainerFacts, m: NetworkMembership) {
  const running = c.guest_ip !== null;
  const named = m.network !== DEFAULT_NETWORK;
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: named ? m.aliases : null,
    MacAddress: running ? (facts.network.mac ?? '') : '',
    NetworkID: facts.networkIds.get(m.network) ?? '',
    EndpointID: running ? c.vm_id : '',
    Gateway: running ? (facts.network.gateway ?? '') : '',
    IPAddress: c.guest_ip ?? '',
    IPPrefixLen: running ? (facts.network.prefixLength ?? 0) : 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DriverOpts: null,
    DNSNames: named ? [c.name, ...m.aliases] : null,
  };
}

export function toDockerSummary(c: ContainerRecord, facts: ContainerFacts) {
  return {
    Id: c.container_id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: facts.imageId,
    Command: commandOf(c, facts.image).join(' '),
    Created: Math.floor(Date.parse(c.created_at) / 1000),
    Ports: ports(c, facts),
    Labels: { ...(facts.image?.labels ?? {}), ...c.labels },
    State: shownStatus(c, facts),
    Status: statusText(c, facts),
    HostConfig: { NetworkMode: networkMode(c) },
    NetworkSettings: { Networks: endpoints(c, facts) },
    Mounts: mounts(c),
  };
}

function dockerHealthcheck(h: HealthcheckSpec | null) {
  if (!h) return undefined;
  const ns = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1e9));
  return {
    ...(h.test ? { Test: h.test } : {}),
    Interval: ns(h.interval_s),
    Timeout: ns(h.timeout_s),
    StartPeriod: ns(h.start_period_s),
    StartInterval: ns(h.start_interval_s),
    Retries: h.retries,
  };
}

function portMap(c: ContainerRecord, facts: ContainerFacts, published: boolean): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  if (!published) for (const e of facts.image?.exposedPorts ?? []) out[e.includes('/') ? e : `${e}/tcp`] = null;
  for (const p of c.port_mappings) {
    const key = `${p.container_port}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.host_ip ?? '0.0.0.0', HostPort: String(p.host_port) });
  }
  return out;
}

export function toDockerInspect(c: ContainerRecord, facts: ContainerFacts) {
  const argv = commandOf(c, facts.image);
  const status = shownStatus(c, facts);
  const hostname = hostnameOf(c);
  const env = mergedEnv(facts.image?.env ?? [], c.env_vars, hostname);
  const memoryBytes = (c.memory_mib ?? 0) * 1024 * 1024;
  const running = status === 'running' || status === 'paused';
  return {
    Id: c.container_id,
    Created: c.created_at,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: {
      Status: status,
      // Docker counts a restarting container as running (its rm, stop and ps treat it so), with no process.
      Running: running || status === 'restarting',
      Paused: status === 'paused',
      Restarting: status === 'restarting',
      OOMKilled: c.oom_killed,
      Dead: false,
      Pid: running ? (facts.pid ?? 0) : 0,
      ExitCode: running ? 0 : exitCodeOf(c),
      Error: c.error_message ?? '',
      StartedAt: c.started_at ?? ZERO_TIME,
      FinishedAt: c.finished_at ?? ZERO_TIME,
      ...(c.health
        ? {
            Health: {
              Status: c.health.status,
              FailingStreak: c.health.failing_streak,
              Log: c.health.log.map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exit_code, Output: r.output })),
            },
          }
        : {}),
    },
    Image: facts.imageId,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: `/${c.name}`,
    RestartCount: c.restart_count,
    Driver: 'hearth',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: c.volumes.filter((v) => !anonymous(v)).map((v) => `${v.name ?? v.host_path}:${v.container_path}${v.readonly ? ':ro' : ''}`),
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: networkMode(c),
      PortBindings: portMap(c, facts, true),
      RestartPolicy: { Name: c.restart_policy, MaximumRetryCount: c.restart_max_retries ?? 0 },
      AutoRemove: c.auto_remove,
      VolumeDriver: '',
      VolumesFrom: null,
      ConsoleSize: [0, 0],
      CapAdd: c.cap_add.length > 0 ? c.cap_add : null,
      CapDrop: c.cap_drop.length > 0 ? c.cap_drop : null,
      Dns: c.dns,
      DnsOptions: c.dns_options,
      DnsSearch: c.dns_search,
      ExtraHosts: c.extra_hosts.length > 0 ? c.extra_hosts.map((h) => `${h.hostname}:${h.ip}`) : null,
      Privileged: c.privileged,
      // --tmpfs and --mount type=tmpfs alike (Hearth keeps one list); absent when none, as Docker's omitempty.
      ...(c.tmpfs.length > 0 ? { Tmpfs: Object.fromEntries(c.tmpfs.map((t) => [t.container_path, t.options])) } : {}),
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      Runtime: 'hearth-microvm',
      Isolation: '',
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round((c.cpus ?? 0) * 1e9),
      CpuShares: 0,
      Mounts: c.volumes.filter((v) => !anonymous(v)).map((v) => ({ Type: v.name !== null ? 'volume' : 'bind', Source: v.name ?? v.host_path ?? '', Target: v.container_path, ReadOnly: v.readonly })),
      Init: null,
    },
    GraphDriver: { Name: 'hearth', Data: null },
    Mounts: mounts(c),
    Config: {
      Hostname: hostname,
      Domainname: '',
      User: c.user ?? facts.image?.user ?? '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: Object.fromEntries(Object.keys(portMap(c, facts, false)).map((k) => [k, {}])),
      Tty: c.tty,
      OpenStdin: c.stdin_open,
      StdinOnce: false,
      Env: env,
      Cmd: c.args.length > 0 ? c.args : c.entrypoint !== null && c.entrypoint.length > 0 ? null : (facts.image?.cmd ?? null),
      Healthcheck: dockerHealthcheck(c.healthcheck),
      Image: c.image,
      Volumes: c.volumes.some(anonymous) ? Object.fromEntries(c.volumes.filter(anonymous).map((v) => [v.container_path, {}])) : null,
      WorkingDir: c.working_dir ?? facts.image?.workingDir ?? '',
      Entrypoint: c.entrypoint ?? (facts.image?.entrypoint.length ? facts.image.entrypoint : null),
      OnBuild: null,
      Labels: { ...(facts.image?.labels ?? {}), ...c.labels },
      StopSignal: c.stop_signal ?? (c.image_stop_signal || undefined),
      StopTimeout: c.stop_timeout_s ?? undefined,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: c.vm_id,
      SandboxKey: '',
      Ports: running ? portMap(c, facts, false) : {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: running ? c.vm_id : '',
      Gateway: running ? (facts.network.gateway ?? '') : '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: c.guest_ip ?? '',
      IPPrefixLen: running ? (facts.network.prefixLength ?? 0) : 0,
      IPv6Gateway: '',
      MacAddress: running ? (facts.network.mac ?? '') : '',
      Networks: endpoints(c, facts),
    },
  };
}

/** The process's environment as Docker shows it: the image's, PATH's default, HOSTNAME, then the container's. */
function mergedEnv(imageEnv: string[], own: Record<string, string>, hostname: string): string[] {
  const merged = new Map<string, string>();
  for (const e of imageEnv) {
    const eq = e.indexOf('=');
    if (eq > 0) merged.set(e.slice(0, eq), e.slice(eq + 1));
  }
  merged.set('HOSTNAME', hostname);
  for (const [k, v] of Object.entries(own)) merged.set(k, v);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}
