/**
 * `POST /containers/create`'s body (Docker's Config with its HostConfig) as Hearth's container settings.
 * What Hearth does is mapped; what the CLI sends by default (empty lists, zeros, `NetworkMode: "default"`)
 * is accepted; anything else set to a value Hearth would not honour is refused with a 400 naming the field
 * and why, rather than silently dropped. `Init` is ignored: Hearth's guest init already reaps zombies and
 * forwards signals (what `--init` is for).
 * @module
 */
import { isIPv4 } from 'node:net';
import { HOSTNAME_PATTERN, type HealthcheckSpec, type NetworkMembership, type Protocol, type RestartPolicy } from '../../../model/index.ts';
import { invalidParameter } from '../errors.ts';
import { createMemberships } from './network.ts';

/** Hearth's settings from a create (the image and name are the route's). */
export interface CreateSettings {
  image: string;
  args: string[];
  env_vars: Record<string, string>;
  entrypoint: string[] | null;
  working_dir: string | null;
  user: string | null;
  tty: boolean;
  stdin_open: boolean;
  labels: Record<string, string>;
  /** A host directory (`host_path`), a named volume (`name`), or neither: an anonymous volume, removed with the container. */
  volumes: Array<{ name?: string; host_path?: string; container_path: string; readonly: boolean }>;
  /** The networks it joins (NetworkMode and EndpointsConfig); `bridge` alone when none other. */
  networks: NetworkMembership[];
  /** host_port 0: any free port, chosen by the route; no host_ip: the manager's `network.portHostIp`. */
  port_mappings: Array<{ container_port: number; host_port: number; protocol: Protocol; host_ip?: string }>;
  /** `--hostname`; null: the short id. */
  hostname: string | null;
  /** `-P`: every exposed port (the create's and the image's) to a free host port. */
  publish_all: boolean;
  exposed_ports: string[];
  restart_policy: RestartPolicy;
  restart_max_retries: number | null;
  auto_remove: boolean;
  healthcheck: HealthcheckSpec | null;
  cpus?: number;
  memory_mib?: number;
  /** `--add-host name:ip`, checked by the containers layer (validate.ts). */
  extra_hosts: Array<{ hostname: string; ip: string }>;
  /** `--dns`, checked there too. */
  dns: string[];
  dns_search: string[];
  dns_options: string[];
  stop_signal: string | null;
  stop_timeout_s: number | null;
  /** `--tmpfs PATH:OPTIONS` and `--mount type=tmpfs`; options checked by the containers layer (tmpfs.ts). */
  tmpfs: Array<{ container_path: string; options: string }>;
  /** `--cap-add`, `--cap-drop` (names checked by the containers layer), `--privileged`: the guest kernel's, never the host's. */
  cap_add: string[];
  cap_drop: string[];
  privileged: boolean;
}

type Json = Record<string, unknown>;

/** Config fields handled below, or harmless whatever their value. */
const CONFIG_HANDLED = new Set([
  'Image', 'Cmd', 'Entrypoint', 'Env', 'WorkingDir', 'User', 'Tty', 'OpenStdin', 'Labels', 'ExposedPorts', 'Healthcheck',
  'AttachStdin', 'AttachStdout', 'AttachStderr', 'StdinOnce', 'ArgsEscaped', 'HostConfig', 'NetworkingConfig', 'Hostname',
  'Domainname', 'Volumes', 'OnBuild', 'Shell', 'MacAddress', 'NetworkDisabled', 'StopSignal', 'StopTimeout', 'name',
]);
const HOST_HANDLED = new Set([
  'Binds', 'Mounts', 'PortBindings', 'PublishAllPorts', 'RestartPolicy', 'AutoRemove', 'Memory', 'NanoCpus', 'Init',
  'NetworkMode', 'LogConfig', 'ConsoleSize', 'MemorySwappiness', 'Isolation', 'CgroupnsMode', 'IpcMode', 'PidMode',
  'UTSMode', 'UsernsMode', 'Cgroup', 'ContainerIDFile', 'VolumeDriver', 'MemorySwap', 'Privileged', 'CpuPeriod', 'CpuQuota',
  'Links', 'ExtraHosts', 'Dns', 'DnsSearch', 'DnsOptions', 'Tmpfs', 'CapAdd', 'CapDrop',
]);

/** The CLI's defaults for fields it always sends, besides empty values. */
const DEFAULTS: Record<string, unknown[]> = {
  NetworkMode: ['default', 'bridge'],
  MemorySwappiness: [-1],
  Isolation: ['default'],
  CgroupnsMode: ['private', 'host'],
  IpcMode: ['private', 'shareable'],
};

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Json).every(isEmpty);
  return false;
}

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const strings = (v: unknown, field: string): string[] => {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParameter(`${field} must be a list of strings`);
  return v as string[];
};

/** Why each refused field is refused, beyond "Hearth does not do this". */
const REFUSALS: Record<string, string> = {
  Devices: 'host devices are not passed into microVMs',
  VolumesFrom: 'volumes are not shared between containers yet',
  CpuShares: 'CPU weights are not supported: use NanoCpus (--cpus)',
  ShmSize: '/dev/shm is the guest\'s',
};

/** The Docker create body as Hearth's settings; throws a 400 naming the first field it cannot honour. */
export function fromDockerCreate(body: unknown): CreateSettings {
  const config = obj(body);
  const host = obj(config.HostConfig);
  refuseUnknown(config, CONFIG_HANDLED, '');
  refuseUnknown(host, HOST_HANDLED, 'HostConfig.');
  for (const f of ['Domainname', 'MacAddress', 'OnBuild', 'Shell']) refuseSet(config, f, '');
  const volumes = [...binds(strings(host.Binds, 'HostConfig.Binds')), ...mounts(host.Mounts)];
  const tmpfs = [...tmpfsMap(host.Tmpfs), ...tmpfsMounts(host.Mounts)];
  // A set of paths, `{"/data": {}}`, though every value is empty: a path no bind or mount covers is an
  // anonymous volume (the CLI puts `-v /data` here; Compose lists every volume's path, named ones too).
  for (const path of Object.keys(obj(config.Volumes))) {
    if (!path.startsWith('/')) throw invalidParameter(`Volumes: ${JSON.stringify(path)} must be an absolute path`);
    if (!volumes.some((v) => v.container_path === path) && !tmpfs.some((t) => t.container_path === path)) volumes.push({ container_path: path, readonly: false });
  }
  if (config.NetworkDisabled === true) throw invalidParameter('NetworkDisabled is not supported by Hearth: every container has its network');
  for (const f of ['PidMode', 'UTSMode', 'UsernsMode', 'Cgroup', 'VolumeDriver']) refuseSet(host, f, 'HostConfig.');
  if (host.Privileged !== undefined && host.Privileged !== null && typeof host.Privileged !== 'boolean') throw invalidParameter('HostConfig.Privileged must be a boolean');
  for (const f of ['Isolation', 'CgroupnsMode', 'IpcMode']) refuseSet(host, f, 'HostConfig.');

  const image = typeof config.Image === 'string' ? config.Image : '';
  if (image === '') throw invalidParameter('Config.Image is required');
  const entrypoint = config.Entrypoint === null || config.Entrypoint === undefined ? null : strings(config.Entrypoint, 'Entrypoint');
  const restart = restartPolicy(obj(host.RestartPolicy));
  const autoRemove = host.AutoRemove === true;
  if (autoRemove && restart.restart_policy !== 'no') {
    throw invalidParameter("can't create 'AutoRemove' container with restart policy");
  }
  const exposed = Object.keys(obj(config.ExposedPorts));
  return {
    image,
    args: strings(config.Cmd, 'Cmd'),
    env_vars: envVars(strings(config.Env, 'Env')),
    // [""] is the CLI's `--entrypoint ""`: no entrypoint at all.
    entrypoint: entrypoint && entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint,
    working_dir: typeof config.WorkingDir === 'string' && config.WorkingDir !== '' ? config.WorkingDir : null,
    user: typeof config.User === 'string' && config.User !== '' ? config.User : null,
    tty: config.Tty === true,
    stdin_open: config.OpenStdin === true,
    labels: labels(config.Labels),
    volumes,
    port_mappings: portBindings(obj(host.PortBindings)),
    hostname: hostname(config.Hostname),
    publish_all: host.PublishAllPorts === true,
    exposed_ports: exposed,
    ...restart,
    auto_remove: autoRemove,
    healthcheck: healthcheck(config.Healthcheck),
    ...resources(host),
    extra_hosts: strings(host.ExtraHosts, 'HostConfig.ExtraHosts').map(extraHost),
    dns: strings(host.Dns, 'HostConfig.Dns'),
    dns_search: strings(host.DnsSearch, 'HostConfig.DnsSearch'),
    dns_options: strings(host.DnsOptions, 'HostConfig.DnsOptions'),
    ...stopSettings(config),
    tmpfs,
    cap_add: strings(host.CapAdd, 'HostConfig.CapAdd'),
    cap_drop: strings(host.CapDrop, 'HostConfig.CapDrop'),
    privileged: host.Privileged === true,
    ...network(host, obj(config.NetworkingConfig)),
    ...logConfig(obj(host.LogConfig)),
  };
}

function refuseUnknown(o: Json, handled: Set<string>, prefix: string): void {
  for (const [k, v] of Object.entries(o)) {
    if (handled.has(k) || isEmpty(v)) continue;
    const why = REFUSALS[k];
    throw invalidParameter(`${prefix}${k} is not supported by Hearth${why ? `: ${why}` : ''}`);
  }
}

function refuseSet(o: Json, k: string, prefix: string): void {
  const v = o[k];
  if (isEmpty(v) || (DEFAULTS[k] ?? []).includes(v)) return;
  const why = REFUSALS[k];
  throw invalidParameter(`${prefix}${k} ${JSON.stringify(v)} is not supported by Hearth${why ? `: ${why}` : ''}`);
}

function envVars(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const eq = e.indexOf('=');
    // `NAME` alone: a variable the CLI found unset in its own environment; Docker leaves it out.
    if (eq < 0) continue;
    if (eq === 0) throw invalidParameter(`invalid environment variable: ${e}`);
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

function labels(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) {
    if (typeof val !== 'string') throw invalidParameter(`Labels.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** `/host:/path`, `/host:/path:ro`; a name instead of `/host` is a named volume (`data:/path`); `/path` alone an anonymous one. */
function binds(list: string[]): CreateSettings['volumes'] {
  return list.map((b) => {
    const parts = b.split(':');
    if (parts.length === 1 && b.startsWith('/')) return { container_path: b, readonly: false };
    if (parts.length < 2 || parts.length > 3) throw invalidParameter(`invalid volume specification: '${b}'`);
    const [source, target, mode = ''] = parts as [string, string, string?];
    const modes = mode.split(',').filter(Boolean);
    for (const m of modes) {
      if (!['ro', 'rw', 'z', 'Z', 'rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared', 'nocopy'].includes(m)) {
        throw invalidParameter(`invalid mode: ${m}`);
      }
    }
    if (!target.startsWith('/')) throw invalidParameter(`invalid volume specification: '${b}': the destination must be an absolute path`);
    const readonly = modes.includes('ro');
    if (source.startsWith('/')) return { host_path: source, container_path: target, readonly };
    if (!VOLUME_NAME.test(source)) {
      throw invalidParameter(`create ${source}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    return { name: source, container_path: target, readonly };
  });
}

function mounts(v: unknown): CreateSettings['volumes'] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw invalidParameter('HostConfig.Mounts must be a list');
  return v.flatMap((m: unknown, i) => {
    const o = obj(m);
    if (o.Type === 'tmpfs') return [];
    if (o.Type === 'volume') {
      if (typeof o.Target !== 'string' || !o.Target.startsWith('/')) throw invalidParameter(`HostConfig.Mounts[${i}].Target must be an absolute path`);
      // No source: an anonymous volume, as `--mount type=volume,target=/data`.
      if (o.Source === undefined || o.Source === null || o.Source === '') return [{ container_path: o.Target, readonly: o.ReadOnly === true }];
      if (typeof o.Source !== 'string' || !VOLUME_NAME.test(o.Source)) throw invalidParameter(`HostConfig.Mounts[${i}].Source must be a volume name`);
      return [{ name: o.Source, container_path: o.Target, readonly: o.ReadOnly === true }];
    }
    if (o.Type !== 'bind') throw invalidParameter(`HostConfig.Mounts[${i}]: mounts of type ${JSON.stringify(o.Type)} are not supported by Hearth yet`);
    if (typeof o.Source !== 'string' || !o.Source.startsWith('/')) throw invalidParameter(`HostConfig.Mounts[${i}].Source must be an absolute path`);
    if (typeof o.Target !== 'string' || !o.Target.startsWith('/')) throw invalidParameter(`HostConfig.Mounts[${i}].Target must be an absolute path`);
    return [{ host_path: o.Source, container_path: o.Target, readonly: o.ReadOnly === true }];
  });
}

/** `--tmpfs /run:rw,size=64m`, which the CLI sends as `{"/run": "rw,size=64m"}`. */
function tmpfsMap(v: unknown): CreateSettings['tmpfs'] {
  return Object.entries(obj(v)).map(([path, options]) => {
    if (!path.startsWith('/')) throw invalidParameter(`HostConfig.Tmpfs: ${JSON.stringify(path)} must be an absolute path`);
    if (typeof options !== 'string') throw invalidParameter(`HostConfig.Tmpfs[${JSON.stringify(path)}] must be a string of options`);
    return { container_path: path, options };
  });
}

const SIZE_SUFFIXES: Array<[string, number]> = [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]];

/**
 * `--mount type=tmpfs,target=/x,tmpfs-size=N,tmpfs-mode=1770`: options as moby's ConvertTmpfsOptions writes them
 * (`ro`, `mode=` in octal, `size=` in the largest unit that divides it).
 */
function tmpfsMounts(v: unknown): CreateSettings['tmpfs'] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((m: unknown, i) => {
    const o = obj(m);
    if (o.Type !== 'tmpfs') return [];
    if (typeof o.Target !== 'string' || !o.Target.startsWith('/')) throw invalidParameter(`HostConfig.Mounts[${i}].Target must be an absolute path`);
    if (!isEmpty(o.Source)) throw invalidParameter(`HostConfig.Mounts[${i}].Source must not be specified for a tmpfs`);
    const t = obj(o.TmpfsOptions);
    const options = o.ReadOnly === true ? ['ro'] : [];
    if (t.Mode !== undefined && t.Mode !== 0) {
      if (typeof t.Mode !== 'number' || !Number.isInteger(t.Mode) || t.Mode < 0) throw invalidParameter(`HostConfig.Mounts[${i}].TmpfsOptions.Mode must be a file mode`);
      options.push(`mode=${(t.Mode & 0o7777).toString(8)}`);
    }
    if (t.SizeBytes !== undefined && t.SizeBytes !== 0) {
      const size = t.SizeBytes;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalidParameter(`HostConfig.Mounts[${i}].TmpfsOptions.SizeBytes must be a number of bytes`);
      const [suffix, unit] = SIZE_SUFFIXES.find(([, u]) => size % u === 0) ?? ['', 1];
      options.push(`size=${size / unit}${suffix}`);
    }
    return [{ container_path: o.Target, options: options.join(',') }];
  });
}

/** `name:ip`, or `name=ip` as newer CLIs send it. */
function extraHost(entry: string): { hostname: string; ip: string } {
  const at = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':');
  if (at <= 0) throw invalidParameter(`HostConfig.ExtraHosts: invalid entry ${JSON.stringify(entry)}: give name:ip`);
  return { hostname: entry.slice(0, at), ip: entry.slice(at + 1) };
}

/** `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`; an empty or "0" HostPort is any free port (0). */
function portBindings(pb: Json): CreateSettings['port_mappings'] {
  const out: CreateSettings['port_mappings'] = [];
  for (const [key, bindings] of Object.entries(pb)) {
    const { port, protocol } = parsePort(key);
    for (const b of (Array.isArray(bindings) ? bindings : []) as unknown[]) {
      const o = obj(b);
      const hostIp = typeof o.HostIp === 'string' ? o.HostIp : '';
      // "::" is what the CLI sends for `-p [::]:8080:80`; Hearth publishes on IPv4 only, its default address.
      if (hostIp !== '' && hostIp !== '::' && !isIPv4(hostIp)) {
        throw invalidParameter(`HostConfig.PortBindings ${key}: host address ${JSON.stringify(hostIp)} is not supported by Hearth: give an IPv4 address`);
      }
      const raw = typeof o.HostPort === 'string' ? o.HostPort : '';
      if (raw.includes('-')) throw invalidParameter(`HostConfig.PortBindings ${key}: host port ranges (${raw}) are not supported by Hearth`);
      const hostPort = raw === '' ? 0 : Number(raw);
      if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw invalidParameter(`invalid port specification: "${raw}"`);
      out.push({ container_port: port, host_port: hostPort, protocol, ...(isIPv4(hostIp) ? { host_ip: hostIp } : {}) });
    }
  }
  return out;
}

/** `--hostname`: one RFC 1123 label, as the guest's kernel takes it; empty is the default (the short id). */
function hostname(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !new RegExp(HOSTNAME_PATTERN).test(v)) {
    throw invalidParameter(`invalid hostname format: ${JSON.stringify(v)}: Hostname must be 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen`);
  }
  return v;
}

export function parsePort(key: string): { port: number; protocol: Protocol } {
  const [p, proto = 'tcp'] = key.split('/') as [string, string?];
  const port = Number(p);
  if (!/^\d+$/.test(p) || port < 1 || port > 65535) throw invalidParameter(`invalid port specification: "${key}"`);
  if (proto !== 'tcp' && proto !== 'udp') throw invalidParameter(`invalid port specification: "${key}": Hearth publishes tcp and udp ports`);
  return { port, protocol: proto };
}

function restartPolicy(rp: Json): Pick<CreateSettings, 'restart_policy' | 'restart_max_retries'> {
  const name = typeof rp.Name === 'string' ? rp.Name : '';
  const max = typeof rp.MaximumRetryCount === 'number' ? rp.MaximumRetryCount : 0;
  if (max !== 0 && name !== 'on-failure') throw invalidParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  switch (name) {
    case '':
    case 'no':
      return { restart_policy: 'no', restart_max_retries: null };
    // Hearth's `always` never undoes a stop the user asked for, even across a manager restart: unless-stopped's rule.
    case 'always':
    case 'unless-stopped':
      return { restart_policy: 'always', restart_max_retries: null };
    case 'on-failure':
      if (!Number.isInteger(max) || max < 0) throw invalidParameter('invalid restart policy: maximum retry count must be a positive integer');
      // Docker's 0 is no limit, as Hearth's.
      return { restart_policy: 'on-failure', restart_max_retries: max };
    default:
      throw invalidParameter(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'unless-stopped', or 'on-failure'`);
  }
}

const NS_PER_S = 1e9;

function healthcheck(v: unknown): HealthcheckSpec | null {
  if (v === null || v === undefined) return null;
  const h = obj(v);
  const spec: HealthcheckSpec = {};
  const test = strings(h.Test, 'Healthcheck.Test');
  if (test.length > 0) spec.test = test;
  const seconds = (f: string, to: 'interval_s' | 'timeout_s' | 'start_period_s' | 'start_interval_s') => {
    const ns = h[f];
    if (ns === undefined || ns === null || ns === 0) return;
    if (typeof ns !== 'number' || ns < 0) throw invalidParameter(`Healthcheck.${f} must be a positive duration in nanoseconds`);
    if (ns < 1e6) throw invalidParameter(`Healthcheck.${f} in Healthcheck cannot be less than 1ms`);
    spec[to] = ns / NS_PER_S;
  };
  seconds('Interval', 'interval_s');
  seconds('Timeout', 'timeout_s');
  seconds('StartPeriod', 'start_period_s');
  seconds('StartInterval', 'start_interval_s');
  if (typeof h.Retries === 'number' && h.Retries !== 0) {
    if (h.Retries < 0) throw invalidParameter('Healthcheck.Retries must not be negative');
    spec.retries = h.Retries;
  }
  return Object.keys(spec).length === 0 ? null : spec;
}

const MiB = 1024 * 1024;

function resources(host: Json): Pick<CreateSettings, 'cpus' | 'memory_mib'> {
  const out: Pick<CreateSettings, 'cpus' | 'memory_mib'> = {};
  const memory = host.Memory;
  if (typeof memory === 'number' && memory > 0) {
    // Docker's own floor, in its words.
    if (memory < 6 * MiB) throw invalidParameter('Minimum memory limit allowed is 6MB');
    out.memory_mib = Math.ceil(memory / MiB);
  }
  const swap = host.MemorySwap;
  if (typeof swap === 'number' && swap !== 0 && swap !== -1 && !(typeof memory === 'number' && swap === memory * 2)) {
    throw invalidParameter('HostConfig.MemorySwap is not supported by Hearth: guests have no swap');
  }
  const nano = host.NanoCpus;
  const quota = typeof host.CpuQuota === 'number' ? host.CpuQuota : 0;
  const period = typeof host.CpuPeriod === 'number' ? host.CpuPeriod : 0;
  if (typeof nano === 'number' && nano > 0) {
    if (quota > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    out.cpus = nano / NS_PER_S;
  } else if (quota > 0) {
    out.cpus = quota / (period > 0 ? period : 100_000);
  } else if (period > 0) {
    throw invalidParameter('HostConfig.CpuPeriod alone is not supported by Hearth: give NanoCpus (--cpus) or CpuQuota');
  }
  return out;
}

/**
 * NetworkMode and EndpointsConfig: the networks it joins, all on the one bridge (shapes/network.ts). Links
 * (`docker-compose run` links a one-off container to its service's) are accepted on a network of names, where
 * the linked containers' names and aliases resolve already; a link's own alias is not added.
 */
function network(host: Json, networking: Json): { networks: NetworkMembership[] } {
  const networks = createMemberships({ NetworkMode: typeof host.NetworkMode === 'string' ? host.NetworkMode : '', EndpointsConfig: obj(networking.EndpointsConfig) as never });
  if (!isEmpty(host.Links) && networks.every((m) => m.network === 'bridge')) {
    throw invalidParameter('HostConfig.Links is not supported by Hearth on the default bridge: put the containers on a network (docker network create), where they find each other by name');
  }
  return { networks };
}

/** `--stop-signal` (checked by the containers layer) and `--stop-timeout` (seconds; -1 is dockerd's "wait for ever", a day here). */
function stopSettings(config: Json): Pick<CreateSettings, 'stop_signal' | 'stop_timeout_s'> {
  const signal = typeof config.StopSignal === 'string' && config.StopSignal !== '' ? config.StopSignal : null;
  const t = config.StopTimeout;
  if (t !== undefined && t !== null && (typeof t !== 'number' || !Number.isInteger(t) || t < -1)) {
    throw invalidParameter('StopTimeout must be a whole number of seconds (-1: wait for ever)');
  }
  return { stop_signal: signal, stop_timeout_s: typeof t === 'number' ? (t < 0 ? 86_400 : Math.min(t, 86_400)) : null };
}

function logConfig(lc: Json): Record<string, never> {
  const type = typeof lc.Type === 'string' ? lc.Type : '';
  if (type !== '' && type !== 'json-file' && type !== 'local') {
    throw invalidParameter(`HostConfig.LogConfig: the ${type} logging driver is not supported by Hearth: logs are kept by the manager (json-file)`);
  }
  if (!isEmpty(lc.Config)) throw invalidParameter('HostConfig.LogConfig.Config is not supported by Hearth: see logs.maxBytes');
  return {};
}
