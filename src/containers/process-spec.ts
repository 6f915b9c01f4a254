/**
 * How Docker turns an image config and a run request into the process to start, as a pure function.
 * Rules (Docker's "ENTRYPOINT/CMD interaction" table and `docker run` reference):
 * - argv = Entrypoint ++ (request args if any, else Cmd); an empty result is an error, as in Docker.
 * - env = image Env, then request env by key (request wins); PATH gets Docker's default when the image has
 *   none; HOSTNAME is the container's hostname. HOME is set in the guest from /etc/passwd (agent's job).
 * - cwd = WorkingDir or "/"; user = User or root.
 */
import { HearthError } from '../errors.ts';
import { ALL_CAPABILITIES_MASK } from './capabilities.ts';
import { MAX_PAYLOAD, recordListBytes, stdioRunBytes, type ExecSpec, type ProcessSpec } from '../sandbox/sandbox.ts';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The process travels to the guest in one RUN message of at most MAX_PAYLOAD bytes (1 MiB). This much of it
 * is kept for what the image and the manager add to a request's args and env_vars: the image's Entrypoint,
 * its Cmd when no args are given, its Env, WorkingDir and User; the manager's PATH and HOSTNAME variables,
 * hostname, /etc/hosts, resolv.conf, clock, root filesystem type and capabilities (a few hundred bytes of these). A
 * request's `tty` and `stdin_open` (their records and the TERM it adds) are counted with its args and env
 * (requestRunBytes), not taken from the reserve. 32 KiB
 * holds the config of any common image and still lets a request of about 1 MB (1000 args of 1000 bytes)
 * run. An image whose own part is larger fails when it is launched (HEARTH_ERR_RUN_TOO_LARGE).
 */
export const RUN_RESERVE_BYTES = 32 * 1024;

/** The most a request's args and env_vars may take in the RUN message. */
export const REQUEST_RUN_BYTES_MAX = MAX_PAYLOAD - RUN_RESERVE_BYTES;

/**
 * What a request's args, env_vars and interactive flags take in the RUN message, counted as the agent client
 * encodes them: `stdio` is the TTY and STDIN records and, with a tty, a TERM entry (counted even when the image
 * or the request has one, so the count never falls short).
 */
export function requestRunBytes(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  flags: { tty?: boolean; stdinOpen?: boolean } = {},
): { args: number; env: number; stdio: number } {
  const stdio = stdioRunBytes({ tty: flags.tty ?? false, stdin: flags.stdinOpen ?? false });
  return {
    args: recordListBytes(args),
    env: recordListBytes(Object.entries(env).map(([k, v]) => envEntry(k, v))),
    stdio: stdio + (flags.tty ? recordListBytes([TERM_DEFAULT]) : 0),
  };
}

/**
 * What the request's own process settings beside args and env_vars take in the RUN message: the entrypoint's
 * records, the user's and working directory's, and the lines extra_hosts and dns add to /etc/hosts and
 * resolv.conf (counted generously: a record's header for each line).
 */
export function settingsRunBytes(s: {
  entrypoint: readonly string[] | null;
  user: string | null;
  working_dir: string | null;
  extra_hosts: ReadonlyArray<{ hostname: string; ip: string }>;
  dns: readonly string[];
  dns_search: readonly string[];
  dns_options: readonly string[];
}): { entrypoint: number; extra_hosts: number; other: number } {
  return {
    entrypoint: recordListBytes(s.entrypoint ?? []),
    extra_hosts: recordListBytes(s.extra_hosts.map((h) => `${h.ip}\t${h.hostname}`)),
    other: recordListBytes([...[s.user, s.working_dir].filter((v) => v !== null), ...resolvConf(s.dns, s).split('\n').filter(Boolean)]),
  };
}

/** The guest's /etc/resolv.conf: its name servers, then the search domains and options it was given, as Docker writes it. */
export function resolvConf(servers: readonly string[], s: { dns_search: readonly string[]; dns_options: readonly string[] }): string {
  const lines = servers.map((n) => `nameserver ${n}`);
  if (s.dns_search.length > 0) lines.push(`search ${s.dns_search.join(' ')}`);
  if (s.dns_options.length > 0) lines.push(`options ${s.dns_options.join(' ')}`);
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * What a volume's MOUNT record takes in the RUN message beside its container path, at most: its own header
 * and those of its five fields, the longest source (`vol127`) and type (`virtiofs`), and two flag bytes.
 */
export const MOUNT_RECORD_OVERHEAD = 6 + 5 * 6 + 6 + 8 + 2;

/** What MOUNT records for volumes at `targets` take in the RUN message, at most. */
export function mountRecordBytes(targets: readonly string[]): number {
  return targets.reduce((sum, t) => sum + MOUNT_RECORD_OVERHEAD + Buffer.byteLength(t, 'utf8'), 0);
}

const envEntry = (key: string, value: string) => `${key}=${value}`;
/** What `docker run -t` puts in the environment when neither the image nor the request sets TERM. */
const TERM_DEFAULT = 'TERM=xterm';

/** The parts of an OCI image config that decide the process. */
export interface ImageProcessConfig {
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  env?: string[] | null;
  workingDir?: string | null;
  user?: string | null;
}

/**
 * The image's process settings with the container's overrides on top, as Docker merges a create's Config
 * over the image's: an entrypoint given (non-empty) replaces the image's and drops its CMD (the request's
 * args are the whole command then); an empty one means no entrypoint, the CMD still the image's unless
 * args are given. A working directory or user given replaces the image's, for the process and its execs.
 */
export function containerProcessConfig(
  image: ImageProcessConfig,
  c: { entrypoint: string[] | null; working_dir: string | null; user: string | null },
): ImageProcessConfig {
  return {
    ...image,
    ...(c.entrypoint === null ? {} : { entrypoint: c.entrypoint }),
    ...(c.entrypoint !== null && c.entrypoint.length > 0 ? { cmd: [] } : {}),
    ...(c.working_dir ? { workingDir: c.working_dir } : {}),
    ...(c.user !== null ? { user: c.user } : {}),
  };
}

export interface RunRequest {
  args: string[];
  env: Record<string, string>;
  hostname: string;
  /** Extra lines for /etc/hosts after the standard ones. */
  extraHosts?: string[];
  resolvConf?: string;
  /** `docker run -t`: a pseudo-terminal, and TERM=xterm unless the image or the request sets TERM. */
  tty?: boolean;
  /** `docker run -i`: a stdin fed by attached clients. */
  stdinOpen?: boolean;
  /** The capabilities mask (capabilities.ts); absent: the agent's own set. */
  capabilities?: number;
}

export function buildProcessSpec(image: ImageProcessConfig, request: RunRequest): ProcessSpec {
  const entrypoint = image.entrypoint ?? [];
  const command = request.args.length > 0 ? request.args : (image.cmd ?? []);
  const argv = [...entrypoint, ...command];
  if (argv.length === 0) {
    throw new HearthError(
      'InvalidArgument',
      'HEARTH_ERR_NO_COMMAND',
      'no command specified: the image has no Entrypoint or Cmd, so give one in "args"',
      { field: 'args' },
    );
  }
  const term: Record<string, string> = request.tty && !hasTerm(image.env ?? [], request.env) ? { TERM: 'xterm' } : {};
  return {
    argv,
    env: mergeEnv(image.env ?? [], { ...term, ...request.env }, request.hostname),
    cwd: image.workingDir || '/',
    user: image.user ?? '',
    hostname: request.hostname,
    hosts: hostsFile(request.hostname, request.extraHosts ?? []),
    ...(request.resolvConf === undefined ? {} : { resolvConf: request.resolvConf }),
    ...(request.tty ? { tty: true } : {}),
    ...(request.stdinOpen ? { stdin: true } : {}),
    ...(request.capabilities === undefined ? {} : { capabilities: request.capabilities }),
  };
}

const hasTerm = (imageEnv: readonly string[], requestEnv: Readonly<Record<string, string>>) =>
  'TERM' in requestEnv || imageEnv.some((e) => e.startsWith('TERM='));

/** What a user asks of an exec (`docker exec`). */
export interface ExecRequest {
  cmd: string[];
  env: Record<string, string>;
  user?: string;
  workingDir?: string;
  tty: boolean;
  stdin: boolean;
  /** `docker exec --privileged`: every capability, whatever the container's. */
  privileged?: boolean;
}

/**
 * An exec as Docker runs one: the container's environment (the image's Env, PATH's default, HOSTNAME, the
 * container's env_vars) with the exec's on top, and TERM=xterm with a tty unless given; the exec's user,
 * else the container's (the image's User, root if none); its working directory, else the image's
 * WorkingDir, else "/"; the container's capabilities, or all of them for a privileged exec. The command is
 * not looked up here: the guest resolves it on PATH.
 */
export function buildExecSpec(
  image: ImageProcessConfig,
  container: { env: Record<string, string>; hostname: string; capabilities: number },
  request: ExecRequest,
): ExecSpec {
  const extra = request.tty && !('TERM' in request.env) ? { TERM: 'xterm', ...request.env } : request.env;
  return {
    argv: [...request.cmd],
    env: mergeEnv(image.env ?? [], { ...container.env, ...extra }, container.hostname),
    cwd: request.workingDir || image.workingDir || '/',
    user: request.user || image.user || '',
    tty: request.tty,
    stdin: request.stdin,
    capabilities: request.privileged ? ALL_CAPABILITIES_MASK : container.capabilities,
  };
}

function mergeEnv(imageEnv: string[], requestEnv: Record<string, string>, hostname: string): string[] {
  const merged = new Map<string, string>();
  for (const entry of imageEnv) {
    const eq = entry.indexOf('=');
    if (eq > 0) merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  if (!merged.has('PATH')) merged.set('PATH', DEFAULT_PATH);
  merged.set('HOSTNAME', hostname);
  for (const [key, value] of Object.entries(requestEnv)) merged.set(key, value);
  return [...merged].map(([key, value]) => envEntry(key, value));
}

/** The container's /etc/hosts: localhost, its hostname, then `extra`. */
export function hostsFile(hostname: string, extra: string[]): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `127.0.1.1\t${hostname}`,
    ...extra,
    '',
  ].join('\n');
}
