/**
 * The checks on a container's settings that a JSON schema cannot express: environment variable names,
 * the pairing of `restart_max_retries` with `on-failure`, host ports (unique within the request, and not
 * mapped by another container), volume paths (cleaned), the room the settings take in the guest's RUN message
 * (run-room.ts), CPUs and memory within what the host has, extra hosts' names and addresses, tmpfs mounts
 * (tmpfs.ts) and capability names (capabilities.ts). Shapes, types and the sizes of single values are the API
 * schema's job.
 * @module
 */
import { isIPv4 } from 'node:net';
import { posix } from 'node:path';
import { HearthError, invalidArgument } from '../errors.ts';
import { vmMemoryMib } from '../sandbox/sandbox.ts';
import { resolveHostPath } from '../volumes/host-paths.ts';
import { parseSignal } from './signal-name.ts';
import { normalizeCapabilities } from './capabilities.ts';
import { checkRunRoom } from './run-room.ts';
import { checkTmpfs, checkTmpfsVolumes } from './tmpfs.ts';
import { HOST_GATEWAY, type ContainerRecord, type ContainerSpec, type ExtraHost, type HealthcheckSpec, type PortMapping, type Protocol, type RestartPolicy, type VolumeMount } from '../model/index.ts';

/** A request's settings as received: optional fields may be absent. */
export interface SpecInput {
  name?: string;
  image?: string;
  args?: string[];
  env_vars?: Record<string, string>;
  volumes?: Array<{ name?: string; host_path?: string; container_path: string; readonly?: boolean }>;
  port_mappings?: Array<Omit<PortMapping, 'protocol'> & { protocol?: Protocol }>;
  restart_policy?: RestartPolicy;
  restart_max_retries?: number | null;
  tty?: boolean;
  stdin_open?: boolean;
  healthcheck?: HealthcheckSpec | null;
  cpus?: number;
  memory_mib?: number;
  entrypoint?: string[] | null;
  working_dir?: string | null;
  user?: string | null;
  labels?: Record<string, string>;
  auto_remove?: boolean;
  hostname?: string | null;
  extra_hosts?: ExtraHost[];
  dns?: string[];
  dns_search?: string[];
  dns_options?: string[];
  stop_signal?: string | null;
  stop_timeout_s?: number | null;
  tmpfs?: Array<{ container_path: string; options?: string }>;
  cap_add?: string[];
  cap_drop?: string[];
  privileged?: boolean;
}

/** What the host has: a VM may have no more vCPUs than it has CPUs, nor more memory. */
export interface HostCapacity {
  cpus: number;
  memoryMib: number;
}

/** What a merge needs besides the request: the on-failure default, and the host's capacity. */
export interface MergeRules {
  /** `restart_max_retries` when on-failure is chosen without a limit. */
  defaultMaxRetries: number;
  host: HostCapacity;
  /** Where a mapping without `host_ip` is published (`network.portHostIp`). */
  defaultHostIp: string;
}

const ENV_NAME = /^[^=\0]+$/;
/** Counted as the schema counts string lengths (UTF-16 units); a record's keys escape the schema's checks. */
const ENV_NAME_MAX = 1024;

/** Applies `input` over `base` (defaults for a create, the current settings for an update) and checks the result. */
export function mergeSpec(base: ContainerSpec, input: SpecInput, rules: MergeRules): ContainerSpec {
  const spec: ContainerSpec = {
    name: input.name ?? base.name,
    image: input.image ?? base.image,
    args: input.args ?? base.args,
    env_vars: input.env_vars ?? base.env_vars,
    // Volumes stored before paths were cleaned are cleaned on the way through too.
    volumes: input.volumes ? checkVolumes(input.volumes) : base.volumes.map(cleanPaths),
    port_mappings: input.port_mappings?.map(portMapping) ?? base.port_mappings,
    restart_policy: input.restart_policy ?? base.restart_policy,
    restart_max_retries: base.restart_max_retries,
    tty: input.tty ?? base.tty,
    stdin_open: input.stdin_open ?? base.stdin_open,
    healthcheck: input.healthcheck === undefined ? base.healthcheck : input.healthcheck && checkHealthcheck(input.healthcheck),
    cpus: input.cpus ?? base.cpus,
    memory_mib: input.memory_mib ?? base.memory_mib,
    entrypoint: input.entrypoint === undefined ? base.entrypoint : input.entrypoint,
    working_dir: input.working_dir === undefined ? base.working_dir : input.working_dir,
    user: input.user === undefined ? base.user : input.user,
    labels: input.labels ?? base.labels,
    auto_remove: input.auto_remove ?? base.auto_remove,
    hostname: input.hostname === undefined ? base.hostname : input.hostname,
    extra_hosts: input.extra_hosts ? checkExtraHosts(input.extra_hosts) : base.extra_hosts,
    dns: input.dns ? checkDns(input.dns) : base.dns,
    dns_search: input.dns_search ? checkDnsSearch(input.dns_search) : base.dns_search,
    dns_options: input.dns_options ? checkDnsOptions(input.dns_options) : base.dns_options,
    stop_signal: input.stop_signal === undefined ? base.stop_signal : input.stop_signal && checkStopSignal(input.stop_signal),
    stop_timeout_s: input.stop_timeout_s === undefined ? base.stop_timeout_s : input.stop_timeout_s,
    tmpfs: input.tmpfs ? checkTmpfs(input.tmpfs) : base.tmpfs,
    cap_add: input.cap_add ? normalizeCapabilities(input.cap_add, 'body/cap_add') : base.cap_add,
    cap_drop: input.cap_drop ? normalizeCapabilities(input.cap_drop, 'body/cap_drop') : base.cap_drop,
    privileged: input.privileged ?? base.privileged,
  };
  checkTmpfsVolumes(spec.tmpfs, spec.volumes);
  checkCapacity(input, rules.host);
  if (input.restart_max_retries !== undefined && input.restart_max_retries !== null) {
    if (spec.restart_policy !== 'on-failure') {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/restart_max_retries can only be used with restart_policy on-failure (not ${spec.restart_policy})`,
        'body/restart_max_retries',
      );
    }
    spec.restart_max_retries = input.restart_max_retries;
  } else if (spec.restart_policy !== 'on-failure') {
    spec.restart_max_retries = null;
  } else if (input.restart_policy !== undefined || spec.restart_max_retries === null) {
    spec.restart_max_retries = rules.defaultMaxRetries;
  }
  for (const key of Object.keys(spec.env_vars)) {
    if (!ENV_NAME.test(key)) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/env_vars has an invalid variable name ${JSON.stringify(key)}: it must be non-empty and contain no "=" or NUL`,
        'body/env_vars',
      );
    }
    if (key.length > ENV_NAME_MAX) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/env_vars has a variable name of ${key.length} characters (${JSON.stringify(key.slice(0, 20))}...): at most ${ENV_NAME_MAX}`,
        'body/env_vars',
      );
    }
  }
  checkRunRoom(spec, input);
  spec.port_mappings.forEach((p, i) => {
    const earlier = spec.port_mappings.slice(0, i).find((q) => samePort(p, q, rules.defaultHostIp));
    if (earlier) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/port_mappings/${i}/host_port ${describeHostPort(p)} is mapped more than once${describeHostPort(earlier) === describeHostPort(p) ? '' : ` (also as ${describeHostPort(earlier)})`}`,
        `body/port_mappings/${i}/host_port`,
      );
    }
  });
  return spec;
}

/**
 * Two mappings hold the same host port, as the kernel (and so Docker) sees it: the same port and protocol on
 * the same address, or on any address when either listens on all of them (0.0.0.0).
 */
function samePort(a: PortMapping, b: PortMapping, defaultHostIp: string): boolean {
  if (a.host_port !== b.host_port || a.protocol !== b.protocol) return false;
  const ipA = a.host_ip ?? defaultHostIp;
  const ipB = b.host_ip ?? defaultHostIp;
  return ipA === ipB || ipA === '0.0.0.0' || ipB === '0.0.0.0';
}

/** A mapping as stored: protocol defaulted, `host_ip` only when given. */
function portMapping(p: NonNullable<SpecInput['port_mappings']>[number]): PortMapping {
  const m: PortMapping = { container_port: p.container_port, host_port: p.host_port, protocol: p.protocol ?? 'tcp' };
  if (p.host_ip !== undefined) m.host_ip = p.host_ip;
  return m;
}

const describeHostPort = (p: PortMapping) => `${p.host_ip === undefined ? '' : `${p.host_ip}:`}${p.host_port}/${p.protocol}`;

/**
 * The kinds of test Docker runs, each with its shape: `CMD` and at least the command, `CMD-SHELL` and one
 * shell command line, `NONE` alone. The schema checked the types and sizes.
 */
function checkHealthcheck(h: HealthcheckSpec): HealthcheckSpec {
  const test = h.test;
  if (test === undefined) return h;
  const field = 'body/healthcheck/test';
  const shapes: Record<string, [number, number, string]> = {
    CMD: [2, Infinity, '["CMD", command, ...args]'],
    'CMD-SHELL': [2, 2, '["CMD-SHELL", "a shell command line"]'],
    NONE: [1, 1, '["NONE"] alone'],
  };
  const shape = shapes[test[0] ?? ''];
  if (!shape) {
    throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field}/0 must be CMD, CMD-SHELL or NONE (not ${JSON.stringify(test[0])})`, `${field}/0`);
  }
  const [min, max, form] = shape;
  if (test.length < min || test.length > max) {
    throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field} must be ${form} (${test.length} items given)`, field);
  }
  return h;
}

const cleanPath = (p: string) => posix.normalize(p).replace(/(.)\/$/, '$1');

/** A DNS name (RFC 1123 labels), as /etc/hosts takes them. */
const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

function checkExtraHosts(input: ExtraHost[]): ExtraHost[] {
  return input.map((h, i) => {
    if (!HOSTNAME.test(h.hostname)) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/extra_hosts/${i}/hostname ${JSON.stringify(h.hostname)} is not a host name (letters, digits, "-" and ".")`, `body/extra_hosts/${i}/hostname`);
    }
    if (h.ip !== HOST_GATEWAY && !isIPv4(h.ip)) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/extra_hosts/${i}/ip ${JSON.stringify(h.ip)} is not an IPv4 address (nor "host-gateway")`, `body/extra_hosts/${i}/ip`);
    }
    return { hostname: h.hostname, ip: h.ip };
  });
}

function checkDns(input: string[]): string[] {
  for (const [i, s] of input.entries()) {
    if (!isIPv4(s)) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/dns/${i} ${JSON.stringify(s)} is not an IPv4 address`, `body/dns/${i}`);
  }
  return input;
}

/** resolv.conf's search list: domain names, at most 6 and 256 characters together (glibc's and musl's limits). */
function checkDnsSearch(input: string[]): string[] {
  for (const [i, d] of input.entries()) {
    if (!DOMAIN.test(d)) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/dns_search/${i} ${JSON.stringify(d)} is not a domain name`, `body/dns_search/${i}`);
  }
  if (input.join(' ').length > 256) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', 'body/dns_search: the domains take more than 256 characters together', 'body/dns_search');
  return input;
}

const DOMAIN = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.?$/;

/**
 * resolv.conf's options: each one word (`ndots:2`, `edns0`), at most 16. Checked here too (the /v1 schema
 * checks them, the Docker API's create does not): a line break in one would write a line of its own.
 */
function checkDnsOptions(input: string[]): string[] {
  if (input.length > 16) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', 'body/dns_options: at most 16 options', 'body/dns_options');
  for (const [i, o] of input.entries()) {
    if (!DNS_OPTION.test(o)) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/dns_options/${i} ${JSON.stringify(o)} is not one resolver option such as ndots:2 or edns0`, `body/dns_options/${i}`);
  }
  return input;
}

const DNS_OPTION = /^[a-zA-Z0-9_.:+-]{1,64}$/;

/** Kept as given (the guest reads it), once it names a signal. */
function checkStopSignal(name: string): string {
  parseSignal(name, 'body/stop_signal');
  return name;
}

/** Stored mounts, cleaned; one stored before named volumes existed has no `name`. */
function cleanPaths(v: VolumeMount): VolumeMount {
  return {
    name: v.name ?? null,
    host_path: v.host_path === null || v.host_path === undefined ? null : cleanPath(v.host_path),
    container_path: cleanPath(v.container_path),
    readonly: v.readonly,
  };
}

/**
 * Each entry names a volume or a host directory (not both), or neither: an anonymous volume, made at its first
 * start and removed with the container; no two share a mount point, and a named volume is mounted once (its
 * disk can be attached to a VM only once).
 */
function checkVolumes(input: NonNullable<SpecInput['volumes']>): VolumeMount[] {
  const targets = new Set<string>();
  const names = new Set<string>();
  return input.map((v, i) => {
    if (v.name !== undefined && v.host_path !== undefined) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/volumes/${i} must have name (a volume) or host_path (a host directory), not both`, `body/volumes/${i}`);
    }
    const mount = cleanVolume({ name: v.name ?? null, host_path: v.host_path ?? null, container_path: v.container_path, readonly: v.readonly ?? false }, i);
    if (targets.has(mount.container_path)) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/volumes/${i}/container_path ${mount.container_path} is a mount point of an earlier entry`, `body/volumes/${i}/container_path`);
    }
    if (mount.name !== null && names.has(mount.name)) {
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `body/volumes/${i}/name: volume ${mount.name} is mounted by an earlier entry; a volume is mounted once per container`, `body/volumes/${i}/name`);
    }
    targets.add(mount.container_path);
    if (mount.name !== null) names.add(mount.name);
    return mount;
  });
}

/**
 * Paths are cleaned as Docker cleans bind mounts (Go's path.Clean of source and destination): `..` and `.`
 * resolved, `//` and a trailing `/` dropped, so `/../../root/.ssh` is stored as the `/root/.ssh` it names.
 * Refusing `..` would turn away paths Docker accepts; keeping them raw would let what is stored differ from
 * what is mounted, and any check made on the stored string be fooled. A destination of `/` is refused, as
 * Docker does: it would hide the container's root filesystem.
 */
function cleanVolume(v: VolumeMount, i: number): VolumeMount {
  const cleaned = cleanPaths(v);
  if (cleaned.container_path === '/') {
    throw invalidArgument(
      'HEARTH_ERR_INVALID_ARGUMENT',
      `body/volumes/${i}/container_path ${JSON.stringify(v.container_path)} is the container's root: mount somewhere below /`,
      `body/volumes/${i}/container_path`,
    );
  }
  return cleaned;
}

/**
 * A VM cannot have more vCPUs than the host has CPUs (`cpus` rounded up), nor more memory than the host (the
 * container's and the guest's own). Only the fields a request gives are checked: the defaults are the
 * configuration's.
 */
function checkCapacity(input: SpecInput, host: HostCapacity): void {
  if (input.cpus !== undefined && Math.ceil(input.cpus) > host.cpus) {
    throw invalidArgument(
      'HEARTH_ERR_INVALID_ARGUMENT',
      `body/cpus ${input.cpus} needs ${Math.ceil(input.cpus)} vCPUs; this host has ${host.cpus} CPUs`,
      'body/cpus',
    );
  }
  if (input.memory_mib !== undefined) {
    const vm = vmMemoryMib(input.memory_mib);
    if (vm > host.memoryMib) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/memory_mib ${input.memory_mib} needs a VM of ${vm} MiB (with the guest's own memory); this host has ${host.memoryMib} MiB`,
        'body/memory_mib',
      );
    }
  }
}

/**
 * Each host directory of a request exists and may be shared (volumes/host-paths.ts): InvalidArgument naming
 * `body/volumes/<i>/host_path` otherwise. Checked on the path as given, so the message quotes it.
 */
export async function checkHostPaths(input: SpecInput, roots: readonly string[]): Promise<void> {
  for (const [i, v] of (input.volumes ?? []).entries()) {
    if (v.host_path !== undefined) await resolveHostPath(v.host_path, roots, `body/volumes/${i}/host_path`);
  }
}

/** Fails with AlreadyExists if another container maps one of the same host ports (per address, see `samePort`). */
export function checkPortConflicts(spec: ContainerSpec, selfId: string | null, others: readonly ContainerRecord[], defaultHostIp: string): void {
  spec.port_mappings.forEach((p, i) => {
    for (const c of others) {
      if (c.id === selfId) continue;
      const held = c.port_mappings.find((q) => samePort(p, q, defaultHostIp));
      if (held) {
        throw new HearthError(
          'AlreadyExists',
          'HEARTH_ERR_PORT_IN_USE',
          `host port ${describeHostPort(p)} is already mapped by container ${c.name} (${c.id}) as ${describeHostPort(held)}`,
          { field: `body/port_mappings/${i}/host_port` },
        );
      }
    }
  });
}
