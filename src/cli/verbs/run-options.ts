/**
 * docker's `run` flags turned into the API's create request: `-p [IP:]HOST:CONTAINER[/PROTO]`,
 * `-e NAME[=VALUE]`, `-v [NAME|HOST_DIR:]PATH[:ro|:rw]`, `--memory 512m`, `--cpus 1.5`,
 * `--restart POLICY[:MAX]`. A flag the request cannot express is a usage error naming the flag.
 * @module
 */
import path from 'node:path';
import { CliError } from '../client.ts';

export class RunUsageError extends CliError {}

export interface PortMapping {
  container_port: number;
  host_port: number;
  protocol: 'tcp' | 'udp';
  host_ip?: string;
}

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new RunUsageError(`${flag}: '${text}' is not a port (1-65535)`);
  return n;
}

export function parsePort(spec: string): PortMapping {
  const flag = `-p ${spec}`;
  const [addr, proto = 'tcp', ...rest] = spec.split('/');
  if (rest.length > 0 || (proto !== 'tcp' && proto !== 'udp')) throw new RunUsageError(`${flag}: the protocol must be tcp or udp`);
  const parts = addr!.split(':');
  if (parts.length === 1) throw new RunUsageError(`${flag}: give the host port too, HOST:CONTAINER (Hearth does not pick one)`);
  if (parts.length > 3) throw new RunUsageError(`${flag}: expected [IP:]HOST:CONTAINER[/PROTO]`);
  const [ip, host, container] = parts.length === 3 ? parts : [undefined, ...parts];
  return {
    container_port: port(container!, flag),
    host_port: port(host!, flag),
    protocol: proto,
    ...(ip === undefined || ip === '' ? {} : { host_ip: ip }),
  };
}

/** `NAME=VALUE`, or `NAME` alone for the caller's own value (left out if the caller has none), as docker. */
export function parseEnv(specs: string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq === 0) throw new RunUsageError(`-e ${spec}: the variable has no name`);
    if (eq > 0) out[spec.slice(0, eq)] = spec.slice(eq + 1);
    else if (env[spec] !== undefined) out[spec] = env[spec]!;
  }
  return out;
}

export type VolumeEntry = { container_path: string; readonly?: boolean } & ({ name: string } | { host_path: string } | object);

/** docker's `-v`: a volume name or a host directory (absolute, or `.`/`~` relative) before the path, or none. */
export function parseVolume(spec: string, cwd = process.cwd(), home = process.env.HOME ?? '/'): VolumeEntry {
  const parts = spec.split(':');
  let mode: string | undefined;
  if (parts.length > 1 && /^(ro|rw)$/.test(parts[parts.length - 1]!)) mode = parts.pop();
  if (parts.length > 2 || parts.some((p) => p === '')) throw new RunUsageError(`-v ${spec}: expected [NAME|HOST_DIR:]CONTAINER_PATH[:ro|:rw]`);
  const readonly = mode === 'ro' ? { readonly: true } : {};
  if (parts.length === 1) return { container_path: parts[0]!, ...readonly };
  const [source, target] = parts as [string, string];
  if (source.startsWith('/')) return { host_path: source, container_path: target, ...readonly };
  if (source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../')) {
    return { host_path: path.resolve(cwd, source), container_path: target, ...readonly };
  }
  if (source === '~' || source.startsWith('~/')) return { host_path: path.join(home, source.slice(1)), container_path: target, ...readonly };
  return { name: source, container_path: target, ...readonly };
}

/** docker's memory sizes (`512m`, `1g`, `1048576` bytes) in whole MiB, rounded up. */
export function parseMemory(spec: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(spec.trim());
  if (!m) throw new RunUsageError(`--memory ${spec}: expected a size such as 512m or 2g`);
  const scale = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as 'k'];
  return Math.ceil((Number(m[1]) * scale) / 2 ** 20);
}

export function parseCpus(spec: string): number {
  const n = Number(spec);
  if (spec.trim() === '' || !Number.isFinite(n) || n <= 0) throw new RunUsageError(`--cpus ${spec}: expected a number of CPUs such as 1 or 0.5`);
  return n;
}

/** `no`, `always`, `on-failure[:MAX]`; docker's `unless-stopped` is `always` here (a user stop is never undone). */
export function parseRestart(spec: string): { restart_policy: string; restart_max_retries?: number } {
  const [policy, max, ...rest] = spec.split(':');
  if (policy === 'unless-stopped' && max === undefined) return { restart_policy: 'always' };
  if (rest.length > 0 || (max !== undefined && (policy !== 'on-failure' || !/^\d+$/.test(max)))) {
    throw new RunUsageError(`--restart ${spec}: expected no, always, unless-stopped or on-failure[:MAX]`);
  }
  return { restart_policy: policy!, ...(max === undefined ? {} : { restart_max_retries: Number(max) }) };
}

/** The flag that sets a field of the create request, to point at it when the API refuses the field. */
export function flagOf(field: string | undefined): string | undefined {
  const top = field?.replace(/^body\//, '').split('/')[0];
  const flags: Record<string, string> = {
    name: '--name',
    image: 'IMAGE',
    args: 'ARGS',
    env_vars: '-e',
    volumes: '-v',
    port_mappings: '-p',
    restart_policy: '--restart',
    restart_max_retries: '--restart',
    memory_mib: '--memory',
    cpus: '--cpus',
  };
  return top === undefined ? undefined : flags[top];
}
