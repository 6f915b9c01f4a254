/**
 * The manager's settings: defaults, then a JSON file (path in HEARTH_CONFIG), then HEARTH_* environment
 * variables, each layer overriding the one before. The result is checked against `ConfigSchema`, so a typo
 * in the file or a bad value in the environment stops the manager at start with a message naming the key.
 * docs/api.md lists every key and variable.
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { HearthError } from './errors.ts';

const Ms = (def: number) => Type.Integer({ minimum: 1, maximum: 86_400_000, default: def });

export const ConfigSchema = Type.Object(
  {
    /** Database, logs and VM run directories live here. */
    dataDir: Type.String({ minLength: 1, default: '/var/lib/hearth' }),
    /** The guest kernel and initramfs built by guest/build.sh, and scratch-disk templates. */
    cacheDir: Type.String({ minLength: 1, default: '/var/cache/hearth' }),
    listen: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 18080 }),
        /** Time a client has to send a whole request, headers and body; responses (log follows) are not limited. */
        requestTimeoutMs: Ms(30_000),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The Docker Engine API (docs/docker-api.md), for the `docker` CLI and Compose. */
    docker: Type.Object(
      {
        /** Unix socket path; empty: no socket. Mode 0660, owned by root and `group`. */
        socket: Type.String({ default: '/run/hearth/docker.sock' }),
        /** Group (name or number) allowed on the socket; null: root only. */
        group: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
        /**
         * `host:port` to serve on TCP as well; empty: none. Without TLS, loopback only and behind the API token;
         * with the three TLS files, any address, and only clients with a certificate the CA signed get in (dockerd's --tlsverify).
         */
        tcp: Type.String({ default: '' }),
        /** PEM files: the CA that signs clients' certificates, and the server's certificate and key. */
        tlsCaCert: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
        tlsCert: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
        tlsKey: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Required (as `Authorization: Bearer <token>`) on every route but /health, /openapi.json and /docs when set; mandatory on a non-loopback address. */
    apiToken: Type.Union([Type.String({ minLength: 16 }), Type.Null()], { default: null }),
    /** Largest request body in bytes. */
    bodyLimit: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    network: Type.Object(
      {
        bridge: Type.String({ minLength: 1, maxLength: 15, default: 'fcbr0' }),
        /** Guest addresses are taken from here; the first host address is the bridge's (the gateway). Default:
         * src/network's, chosen to clash with no common LAN, Docker, Podman or Kubernetes range. */
        subnet: Type.String({ default: '10.213.0.0/22' }),
        /** Masquerade guest traffic leaving the host. */
        nat: Type.Boolean({ default: true }),
        /** Host address port mappings listen on (Docker's default is every address). */
        portHostIp: Type.String({ default: '0.0.0.0' }),
        /** Name servers for the guest's resolv.conf; empty means the host's non-loopback ones, else 8.8.8.8/8.8.4.4. */
        dns: Type.Array(Type.String(), { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    registry: Type.Object(
      {
        /** Registry host -> mirror base URLs tried in order, e.g. {"docker.io": ["https://mirror.gcr.io"]}. */
        mirrors: Type.Record(Type.String(), Type.Array(Type.String()), { default: {} }),
        /** Registry hosts reached over plain HTTP (or HTTPS without verification). */
        insecure: Type.Array(Type.String(), { default: [] }),
        /** A docker/podman style auth.json. */
        authFile: Type.Union([Type.String(), Type.Null()], { default: null }),
      },
      { additionalProperties: false, default: {} },
    ),
    images: Type.Object(
      {
        /** Images no container uses that the collector keeps, the most recently used or pulled first. */
        keepUnused: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10 }),
        /** Unused images are collected, oldest first, while images take more bytes than this; 0: no limit. */
        maxBytes: Type.Integer({ minimum: 0, default: 0 }),
        /** The collector runs this often, after every container deletion and when the manager starts. */
        collectIntervalMs: Ms(600_000),
      },
      { additionalProperties: false, default: {} },
    ),
    vm: Type.Object(
      {
        vcpus: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
        memoryMib: Type.Integer({ minimum: 64, maximum: 1024 * 1024, default: 256 }),
        vmm: Type.Union([Type.Literal('qemu'), Type.Literal('firecracker')], { default: 'qemu' }),
        accel: Type.Union([Type.Literal('auto'), Type.Literal('kvm'), Type.Literal('tcg')], { default: 'auto' }),
        /** Size of each VM's writable layer (a sparse ext4 disk: only what is written takes space). */
        scratchSizeMib: Type.Integer({ minimum: 64, maximum: 1024 * 1024, default: 4096 }),
        /** Confine every VMM: own uid, no capabilities, seccomp, a jail root, cgroup limits. Off logs a warning. */
        jail: Type.Boolean({ default: true }),
        /** Start VMs by resuming a saved template VM instead of booting (docs/snapshots.md). */
        snapshots: Type.Boolean({ default: true }),
        /** VMM uids and gids come from [jailUidBase, jailUidBase + jailUidCount): a range no account on the host uses. */
        jailUidBase: Type.Integer({ minimum: 1000, maximum: 2 ** 31 - 1, default: 1_900_000_000 }),
        jailUidCount: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 1_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    volumes: Type.Object(
      {
        /**
         * Host directories a container may mount (`host_path`) lie under one of these, symlinks resolved; empty
         * means any directory, as Docker allows.
         */
        hostRoots: Type.Array(Type.String({ pattern: '^/', 'x-error': 'must be an absolute path' }), { default: [] }),
        /** Size of a volume made on first use or created without `size_mib` (a sparse disk: only what is written takes space). */
        defaultSizeMib: Type.Integer({ minimum: 16, maximum: 1024 * 1024, default: 10240 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Each provisioning step fails with HEARTH_ERR_TIMEOUT after its time. */
    timeouts: Type.Object(
      {
        imageMs: Ms(600_000),
        networkMs: Ms(30_000),
        bootMs: Ms(60_000),
        startMs: Ms(60_000),
        /** Grace between SIGTERM and SIGKILL on stop (Docker: 10 s); `?timeout=` overrides it. */
        stopGraceMs: Ms(10_000),
        /** After a manager restart, a paused or unresponsive VM is tried again this often. */
        recoveryRetryMs: Ms(5_000),
      },
      { additionalProperties: false, default: {} },
    ),
    logs: Type.Object(
      {
        /** Bytes per log file; one older file is kept, so a container holds at most twice this. */
        maxBytes: Type.Integer({ minimum: 4096, default: 10 * 1024 * 1024 }),
      },
      { additionalProperties: false, default: {} },
    ),
    restart: Type.Object(
      {
        /** Delay before the first policy restart; it doubles on each one up to `backoffMaxMs` (Docker: 100 ms, 1 min). */
        backoffInitialMs: Ms(100),
        backoffMaxMs: Ms(60_000),
        /** A run that lasted this long resets the delay to `backoffInitialMs`. */
        backoffResetMs: Ms(10_000),
        /** `restart_max_retries` when a container asks for on-failure without one. 0 means no limit. */
        onFailureMaxRetries: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 5 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type HearthConfig = Static<typeof ConfigSchema>;

type EnvParser = (raw: string) => unknown;
const str: EnvParser = (s) => s;
const int: EnvParser = (s) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s);
const bool: EnvParser = (s) => (/^(1|true|yes|on)$/i.test(s) ? true : /^(0|false|no|off)$/i.test(s) ? false : s);
const list: EnvParser = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nullable: EnvParser = (s) => (s === '' ? null : s);
/** `docker.io=https://a,docker.io=https://b,ghcr.io=https://c` */
const mirrors: EnvParser = (s) => {
  const out: Record<string, string[]> = {};
  for (const pair of list(s) as string[]) {
    const at = pair.indexOf('=');
    if (at <= 0) return s; // left as a string so the schema check names the variable
    (out[pair.slice(0, at)] ??= []).push(pair.slice(at + 1));
  }
  return out;
};

/** Every environment variable the manager reads, with the config key it sets. */
export const ENV_VARS: ReadonlyArray<[name: string, path: string, parse: EnvParser]> = [
  ['HEARTH_DATA_DIR', 'dataDir', str],
  ['HEARTH_CACHE_DIR', 'cacheDir', str],
  ['HEARTH_HOST', 'listen.host', str],
  ['HEARTH_PORT', 'listen.port', int],
  ['HEARTH_REQUEST_TIMEOUT_MS', 'listen.requestTimeoutMs', int],
  ['HEARTH_API_TOKEN', 'apiToken', nullable],
  ['HEARTH_DOCKER_SOCKET', 'docker.socket', str],
  ['HEARTH_DOCKER_GROUP', 'docker.group', nullable],
  ['HEARTH_DOCKER_TCP', 'docker.tcp', str],
  ['HEARTH_DOCKER_TLS_CACERT', 'docker.tlsCaCert', nullable],
  ['HEARTH_DOCKER_TLS_CERT', 'docker.tlsCert', nullable],
  ['HEARTH_DOCKER_TLS_KEY', 'docker.tlsKey', nullable],
  ['HEARTH_BODY_LIMIT', 'bodyLimit', int],
  ['HEARTH_LOG_LEVEL', 'logLevel', str],
  ['HEARTH_BRIDGE', 'network.bridge', str],
  ['HEARTH_SUBNET', 'network.subnet', str],
  ['HEARTH_NAT', 'network.nat', bool],
  ['HEARTH_PORT_HOST_IP', 'network.portHostIp', str],
  ['HEARTH_DNS', 'network.dns', list],
  ['HEARTH_REGISTRY_MIRRORS', 'registry.mirrors', mirrors],
  ['HEARTH_REGISTRY_INSECURE', 'registry.insecure', list],
  ['HEARTH_REGISTRY_AUTH_FILE', 'registry.authFile', nullable],
  ['HEARTH_IMAGE_KEEP_UNUSED', 'images.keepUnused', int],
  ['HEARTH_IMAGE_MAX_BYTES', 'images.maxBytes', int],
  ['HEARTH_IMAGE_COLLECT_INTERVAL_MS', 'images.collectIntervalMs', int],
  ['HEARTH_VCPUS', 'vm.vcpus', int],
  ['HEARTH_MEMORY_MIB', 'vm.memoryMib', int],
  ['HEARTH_VMM', 'vm.vmm', str],
  ['HEARTH_ACCEL', 'vm.accel', str],
  ['HEARTH_SCRATCH_SIZE_MIB', 'vm.scratchSizeMib', int],
  ['HEARTH_JAIL', 'vm.jail', bool],
  ['HEARTH_SNAPSHOTS', 'vm.snapshots', bool],
  ['HEARTH_JAIL_UID_BASE', 'vm.jailUidBase', int],
  ['HEARTH_JAIL_UID_COUNT', 'vm.jailUidCount', int],
  ['HEARTH_VOLUME_HOST_ROOTS', 'volumes.hostRoots', list],
  ['HEARTH_VOLUME_SIZE_MIB', 'volumes.defaultSizeMib', int],
  ['HEARTH_IMAGE_TIMEOUT_MS', 'timeouts.imageMs', int],
  ['HEARTH_NETWORK_TIMEOUT_MS', 'timeouts.networkMs', int],
  ['HEARTH_BOOT_TIMEOUT_MS', 'timeouts.bootMs', int],
  ['HEARTH_START_TIMEOUT_MS', 'timeouts.startMs', int],
  ['HEARTH_STOP_GRACE_MS', 'timeouts.stopGraceMs', int],
  ['HEARTH_RECOVERY_RETRY_MS', 'timeouts.recoveryRetryMs', int],
  ['HEARTH_LOG_MAX_BYTES', 'logs.maxBytes', int],
  ['HEARTH_RESTART_BACKOFF_INITIAL_MS', 'restart.backoffInitialMs', int],
  ['HEARTH_RESTART_BACKOFF_MAX_MS', 'restart.backoffMaxMs', int],
  ['HEARTH_RESTART_BACKOFF_RESET_MS', 'restart.backoffResetMs', int],
  ['HEARTH_ON_FAILURE_MAX_RETRIES', 'restart.onFailureMaxRetries', int],
];

const configError = (message: string, cause?: unknown) =>
  new HearthError('FailedPrecondition', 'HEARTH_ERR_CONFIG', message, { cause });

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (next !== null && typeof next === 'object' ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** `127.0.0.1:2375`, `[::1]:2375`, `localhost:2375`; undefined if it is not that. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * Builds the configuration from `overrides` (a parsed config file or a test's object) and `env`.
 * Throws HEARTH_ERR_CONFIG naming the offending key or variable.
 */
export function resolveConfig(overrides: unknown = {}, env: NodeJS.ProcessEnv = {}): HearthConfig {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw configError('the configuration must be a JSON object');
  }
  const merged = structuredClone(overrides) as Record<string, unknown>;
  const sources = new Map<string, string>();
  for (const [name, path, parse] of ENV_VARS) {
    const raw = env[name];
    if (raw === undefined) continue;
    setPath(merged, path, parse(raw));
    sources.set('/' + path.replaceAll('.', '/'), name);
  }
  const config = Value.Default(ConfigSchema, merged);
  const first = Value.Errors(ConfigSchema, config).First();
  if (first) {
    const source = [...sources].find(([p]) => first.path.startsWith(p))?.[1];
    const where = source ? `${source} (${first.path.slice(1).replaceAll('/', '.')})` : first.path.slice(1).replaceAll('/', '.');
    throw configError(`invalid configuration: ${where || 'root'}: ${first.message.toLowerCase()}`);
  }
  const result = config as HearthConfig;
  if (!isLoopback(result.listen.host) && !result.apiToken) {
    throw configError(
      `refusing to listen on ${result.listen.host} without an API token: set HEARTH_API_TOKEN (or "apiToken" in the ` +
        `config file, at least 16 characters), or listen on 127.0.0.1`,
    );
  }
  checkDockerTcp(result);
  if (result.restart.backoffMaxMs < result.restart.backoffInitialMs) {
    throw configError('invalid configuration: restart.backoffMaxMs is smaller than restart.backoffInitialMs');
  }
  return result;
}

/**
 * The Docker API's TCP door: TLS with client certificates (all three files, or none), which any address may
 * serve; without TLS, loopback with the API token, since every local user reaches loopback.
 */
function checkDockerTcp(result: HearthConfig): void {
  const { tcp, tlsCaCert, tlsCert, tlsKey } = result.docker;
  const files = { tlsCaCert, tlsCert, tlsKey };
  const given = Object.entries(files).filter(([, v]) => v !== null).map(([k]) => k);
  if (given.length > 0 && given.length < 3) {
    const missing = Object.keys(files).filter((k) => !given.includes(k)).map((k) => `docker.${k}`);
    throw configError(`invalid configuration: TLS for the Docker API needs docker.tlsCaCert, docker.tlsCert and docker.tlsKey; ${missing.join(' and ')} missing`);
  }
  if (tcp === '') {
    if (given.length > 0) throw configError('invalid configuration: docker.tlsCaCert, docker.tlsCert and docker.tlsKey are set but docker.tcp is not');
    return;
  }
  const address = parseHostPort(tcp);
  if (!address) throw configError(`invalid configuration: docker.tcp: "${tcp}" is not host:port`);
  if (given.length === 3) return;
  if (!isLoopback(address.host)) {
    throw configError(
      `refusing to serve the Docker API on ${tcp} without TLS: anyone who reaches it controls the host; set ` +
        `HEARTH_DOCKER_TLS_CACERT, HEARTH_DOCKER_TLS_CERT and HEARTH_DOCKER_TLS_KEY (clients then need a certificate ` +
        `that CA signed, as dockerd's --tlsverify), or use 127.0.0.1 or the unix socket`,
    );
  }
  if (!result.apiToken) {
    throw configError(
      `refusing to serve the Docker API on ${tcp} without an API token: any local user reaching it would ` +
        `control the host; set HEARTH_API_TOKEN (clients send it as "HttpHeaders": {"Authorization": "Bearer <token>"} ` +
        `in their docker config.json), serve TLS with client certificates, or use the unix socket`,
    );
  }
}

/** Reads HEARTH_CONFIG (if set) and the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HearthConfig {
  let file: unknown = {};
  const path = env.HEARTH_CONFIG;
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw configError(`cannot read the config file ${path} (HEARTH_CONFIG): ${(e as Error).message}`, e);
    }
    try {
      file = JSON.parse(text);
    } catch (e) {
      throw configError(`the config file ${path} is not valid JSON: ${(e as Error).message}`, e);
    }
  }
  return resolveConfig(file, env);
}
