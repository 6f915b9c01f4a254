/**
 * The HTTP API's TypeBox schemas: they validate requests, shape (and strip) responses, and generate the
 * OpenAPI document, so the three cannot disagree. Every string, array and map has a size limit.
 * `x-error` is the message a failed `pattern` gives (see validation.ts).
 * @module
 */
import { Kind, Type, TypeRegistry, type SchemaOptions, type Static, type TSchema } from '@sinclair/typebox';
import { CONTAINER_STATES, EVENT_TYPES, HEALTH_STATUSES, HOSTNAME_PATTERN, RESTART_POLICIES, VM_STATES, VOLUME_NAME_PATTERN } from '../model/index.ts';

/** A string that is one of `values` (`{type: string, enum}` in JSON Schema); validation says "must be one of a, b, c". */
TypeRegistry.Set<{ enum: string[] }>('StringEnum', (schema, value) => typeof value === 'string' && schema.enum.includes(value));
export const StringEnum = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}) =>
  Type.Unsafe<T[number]>({ [Kind]: 'StringEnum', type: 'string', enum: [...values], ...options });

export const NoNul = (maxLength: number, extra: object = {}) =>
  Type.String({ maxLength, pattern: '^[^\\u0000]*$', 'x-error': 'must not contain NUL characters', ...extra });

// distribution/reference's grammar: [domain[:port]/]path[:tag][@digest]
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
export const IMAGE_REFERENCE = `^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::${tag})?(?:@${digest})?$`;

export const ContainerName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$',
  'x-error': 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"',
  description: 'Unique name.',
  examples: ['hello-world'],
});

/** The longest image reference accepted, in a body or (decoded) as a path segment (app.ts's router allows it). */
export const IMAGE_REF_MAX_LENGTH = 512;

export const ImageRef = Type.String({
  minLength: 1,
  maxLength: IMAGE_REF_MAX_LENGTH,
  pattern: IMAGE_REFERENCE,
  'x-error': 'must be an image reference such as nginx:alpine or registry.example.com/team/app@sha256:<digest>',
  description: 'OCI image reference; Docker Hub is the default registry.',
  examples: ['hello-world:latest'],
});

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_PATTERN = `^(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}$`;
const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });
export const AbsolutePath = (description: string) =>
  Type.String({ minLength: 1, maxLength: 4096, pattern: '^/[^\\u0000]*$', 'x-error': 'must be an absolute path', description });

export const PortMappingIn = Type.Object(
  {
    container_port: Port('Port in the guest.'),
    host_port: Port('Port on the host; unique among all containers for its protocol.'),
    protocol: Type.Optional(StringEnum(['tcp', 'udp'] as const, { default: 'tcp' })),
    host_ip: Type.Optional(
      Type.String({
        pattern: IPV4_PATTERN,
        'x-error': 'must be an IPv4 address such as 127.0.0.1 (0.0.0.0: every address)',
        description: "Host address to publish on (`docker run -p 127.0.0.1:8080:80`). Default: the manager's `network.portHostIp`.",
        examples: ['127.0.0.1'],
      }),
    ),
  },
  { additionalProperties: false },
);
export const PortMappingOut = Type.Object({
  container_port: Type.Integer(),
  host_port: Type.Integer(),
  protocol: StringEnum(['tcp', 'udp'] as const),
  host_ip: Nullable(Type.String({ description: "Null: published on the manager's `network.portHostIp`." })),
});

export const VolumeName = Type.String({
  minLength: 2,
  maxLength: 128,
  pattern: VOLUME_NAME_PATTERN,
  'x-error': 'must be at least 2 characters, start with a letter or digit and contain only letters, digits, "_", "." and "-"',
  description: 'A volume name, as Docker takes them.',
  examples: ['pgdata'],
});

export const VolumeIn = Type.Object(
  {
    name: Type.Optional({ ...VolumeName, description: 'A named volume (docs/api.md, Volumes); created on first use, as Docker does.' }),
    host_path: Type.Optional(
      AbsolutePath(
        'A directory on the host, shared into the guest; it must exist and lie under an allowed root (`volumes.hostRoots`), symlinks resolved.',
      ),
    ),
    container_path: AbsolutePath('Where it appears in the container.'),
    readonly: Type.Optional(Type.Boolean({ default: false, description: 'Enforced by the host, not only inside the guest.' })),
  },
  { additionalProperties: false, description: 'At most one of `name` and `host_path`; neither: an anonymous volume, removed with the container.' },
);
export const VolumeOut = Type.Object({
  name: Nullable(Type.String()),
  host_path: Nullable(Type.String()),
  container_path: Type.String(),
  readonly: Type.Boolean(),
});

export const ExtraHostIn = Type.Object(
  {
    hostname: Type.String({ minLength: 1, maxLength: 253, description: 'A host name: letters, digits, "-" and ".".' }),
    ip: Type.String({ maxLength: 15, description: 'An IPv4 address, or `host-gateway`: the address of the host on the container\'s bridge.' }),
  },
  { additionalProperties: false },
);
export const ExtraHostOut = Type.Object({ hostname: Type.String(), ip: Type.String() });

export const TmpfsIn = Type.Object(
  {
    container_path: AbsolutePath('Where it appears in the container (cleaned); not `/`, nor a volume\'s path.'),
    options: Type.Optional(
      NoNul(1024, {
        default: '',
        description:
          "Docker's comma list: rw, ro, exec, noexec, suid, nosuid, dev, nodev, size=N[k|m|g|%], mode=OCTAL, uid=N, gid=N, " +
          'nr_inodes=N[k|m|g|%]. Docker\'s defaults noexec, nosuid and nodev come first; a later word wins (exec over noexec).',
        examples: ['size=64m,mode=1777'],
      }),
    ),
  },
  { additionalProperties: false, description: "A tmpfs (`docker run --tmpfs PATH:OPTIONS`): the guest's memory, empty at every start." },
);
export const TmpfsOut = Type.Object({ container_path: Type.String(), options: Type.String() });

const CapabilityNames = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64, description });

/** Node's timers wait at most 2^31-1 ms (24.8 days); a million seconds is well inside. */
const Seconds = (minimum: number, description: string) => Type.Number({ minimum, maximum: 1_000_000, description });

export const HealthcheckIn = Type.Object(
  {
    test: Type.Optional(
      Type.Array(NoNul(32768), {
        minItems: 1,
        maxItems: 1024,
        description: '`["CMD", command, ...args]`, `["CMD-SHELL", "command line"]` (run by the image\'s SHELL, else `/bin/sh -c`) or `["NONE"]` (no check, not even the image\'s).',
      }),
    ),
    interval_s: Type.Optional(Seconds(0.001, 'Between the end of a check and the start of the next. Default: the image\'s, else 30.')),
    timeout_s: Type.Optional(Seconds(0.001, 'A check running longer is killed and fails (exit code -1). Default: the image\'s, else 30.')),
    retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Failures in a row that make the container unhealthy. Default: the image\'s, else 3.' })),
    start_period_s: Type.Optional(Seconds(0, 'From the start: failures before the first pass do not count. Default: the image\'s, else 0.')),
    start_interval_s: Type.Optional(Seconds(0.001, 'Between checks during the start period, until one passes. Default: the image\'s, else 5.')),
  },
  { additionalProperties: false, description: "Over the image's HEALTHCHECK, field by field (Docker's merge); null: the image's as it is." },
);
export const HealthcheckOut = Type.Object({
  test: Type.Optional(Type.Array(Type.String())),
  interval_s: Type.Optional(Type.Number()),
  timeout_s: Type.Optional(Type.Number()),
  retries: Type.Optional(Type.Integer()),
  start_period_s: Type.Optional(Type.Number()),
  start_interval_s: Type.Optional(Type.Number()),
});
export const HealthStatusSchema = StringEnum(HEALTH_STATUSES);
export const HealthOut = Type.Object(
  {
    status: HealthStatusSchema,
    failing_streak: Type.Integer({ description: 'Failed checks in a row.' }),
    log: Type.Array(
      Type.Object({ start: Type.String({ format: 'date-time' }), end: Type.String({ format: 'date-time' }), exit_code: Type.Integer(), output: Type.String() }),
      { description: 'The last 5 results, oldest first; output at most 4096 bytes (then "...").' },
    ),
  },
  { description: 'What the health checks found; null without a check.' },
);

const settings = {
  args: Type.Array(NoNul(32768), {
    maxItems: 1024,
    description: "Replaces the image's Cmd (the Entrypoint stays), as `docker run IMAGE ARGS...`.",
  }),
  // A record's key schema is not checked (TypeBox matches keys by pattern only): src/containers/validate.ts
  // checks the names.
  env_vars: Type.Record(Type.String(), NoNul(32768), {
    maxProperties: 1024,
    description: 'Environment variables (names of 1 to 1024 characters, without "=" or NUL); they override the image\'s.',
  }),
  volumes: Type.Array(VolumeIn, { maxItems: 64 }),
  port_mappings: Type.Array(PortMappingIn, { maxItems: 256 }),
  hostname: Nullable(
    Type.String({
      pattern: HOSTNAME_PATTERN,
      'x-error': 'must be 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123)',
      description: "The guest's hostname (`docker run --hostname`). Null: the first 12 digits of `container_id`, as Docker's.",
      examples: ['web1'],
    }),
  ),
  extra_hosts: Type.Array(ExtraHostIn, {
    maxItems: 256,
    description: "Lines appended to the container's /etc/hosts (`docker run --add-host`).",
  }),
  dns: Type.Array(Type.String({ maxLength: 15, description: 'An IPv4 address.' }), {
    maxItems: 3,
    description: "Name servers for the container's /etc/resolv.conf (`docker run --dns`), replacing the manager's `network.dns`; [] (the default): the manager's.",
  }),
  dns_search: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
    maxItems: 6,
    description: "Search domains for the container's /etc/resolv.conf (`docker run --dns-search`); at most 256 characters together.",
  }),
  dns_options: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_.:+-]+$', 'x-error': 'must be one resolver option such as ndots:2 or edns0' }), {
    maxItems: 16,
    description: "Resolver options for the container's /etc/resolv.conf (`docker run --dns-option`), e.g. `ndots:2`, `edns0`.",
  }),
  stop_signal: Nullable(
    Type.String({
      minLength: 1,
      maxLength: 16,
      description: "The signal a stop sends first (`docker run --stop-signal`): `SIGQUIT`, `QUIT` or `3`. Null: the image's STOPSIGNAL, else SIGTERM.",
    }),
  ),
  stop_timeout_s: Nullable(
    Type.Integer({
      minimum: 0,
      maximum: 86_400,
      description: "Seconds a stop waits for the process before SIGKILL when the stop request names no timeout (`docker run --stop-timeout`). Null: the manager's `timeouts.stopGraceMs`.",
    }),
  ),
  tmpfs: Type.Array(TmpfsIn, { maxItems: 64, description: 'tmpfs mounts (`docker run --tmpfs`, `--mount type=tmpfs`).' }),
  cap_add: CapabilityNames(
    "Capabilities added to Docker's default set (`docker run --cap-add`): names with or without `CAP_`, any case (`NET_ADMIN`), or `ALL`. " +
      "They are the guest kernel's: a container is a microVM, and none reaches the host. Stored as `CAP_NET_ADMIN`.",
  ),
  cap_drop: CapabilityNames("Capabilities taken from Docker's default set (`docker run --cap-drop`), as `cap_add`; `ALL` drops all but those added."),
  privileged: Type.Boolean({
    default: false,
    description:
      "Every capability of the guest's kernel (`docker run --privileged`). Only the guest's: the VM has no host device or capability to give.",
  }),
  restart_policy: StringEnum(RESTART_POLICIES, {
    default: 'no',
    description: 'What to do when the process ends by itself; a stop asked for by the user is never undone.',
  }),
  restart_max_retries: Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000 }), Type.Null()], {
    description: 'on-failure only: restarts before giving up (0: no limit). Default: the manager setting (5).',
  }),
  tty: Type.Boolean({
    default: false,
    description: 'A pseudo-terminal for the process (`docker run -t`): stdout and stderr are one stream, resizable through attach.',
  }),
  stdin_open: Type.Boolean({
    default: false,
    description: "Keep the process's stdin open for attached clients (`docker run -i`); without it stdin is /dev/null.",
  }),
  healthcheck: Type.Union([HealthcheckIn, Type.Null()]),
  cpus: Type.Number({
    minimum: 0.01,
    maximum: 64,
    description:
      'CPUs the container may use (`docker run --cpus`): its VM gets this many vCPUs rounded up, and a fraction is also ' +
      "capped on the host. Default: the manager's `vm.vcpus` (1). More than the host's CPUs: 400.",
  }),
  memory_mib: Type.Integer({
    minimum: 6,
    maximum: 1024 * 1024,
    description:
      "Memory of the container's processes, MiB (`docker run --memory`): beyond it the OOM killer ends one of them (exit " +
      "137, `oom_killed`), not the VM, which has this and the guest's own. Default: the manager's `vm.memoryMib` (256). " +
      'More than the host has: 400.',
  }),
};

/** What a create may give and an update may change: every setting, each optional. */
const optionalSettings = Type.Partial(Type.Object(settings)).properties;

export const ContainerCreate = Type.Object(
  {
    name: ContainerName,
    image: ImageRef,
    ...optionalSettings,
  },
  { additionalProperties: false },
);
export type ContainerCreate = Static<typeof ContainerCreate>;

export const ContainerUpdate = Type.Object(
  {
    image: Type.Optional(ImageRef),
    ...optionalSettings,
  },
  { additionalProperties: false, minProperties: 1, description: 'Fields given replace the current ones; others stay.' },
);
export type ContainerUpdate = Static<typeof ContainerUpdate>;

export const State = StringEnum(CONTAINER_STATES);
export const Time = Type.String({ format: 'date-time' });

export const ContainerItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  image: Type.String(),
  image_digest: Nullable(
    Type.String({ description: 'The manifest digest the image resolved to when first provisioned; every later start boots it. Null until then.' }),
  ),
  args: Type.Array(Type.String()),
  env_vars: Type.Record(Type.String(), Type.String()),
  volumes: Type.Array(VolumeOut),
  port_mappings: Type.Array(PortMappingOut),
  hostname: Nullable(Type.String({ description: "Null: the first 12 digits of `container_id`, as Docker's." })),
  extra_hosts: Type.Array(ExtraHostOut),
  dns: Type.Array(Type.String()),
  dns_search: Type.Array(Type.String()),
  dns_options: Type.Array(Type.String()),
  stop_signal: Nullable(Type.String({ description: "Null: the image's STOPSIGNAL, else SIGTERM." })),
  stop_timeout_s: Nullable(Type.Integer({ description: "Null: the manager's `timeouts.stopGraceMs`." })),
  tmpfs: Type.Array(TmpfsOut),
  cap_add: Type.Array(Type.String()),
  cap_drop: Type.Array(Type.String()),
  privileged: Type.Boolean(),
  restart_policy: StringEnum(RESTART_POLICIES),
  restart_max_retries: Nullable(Type.Integer()),
  tty: Type.Boolean(),
  stdin_open: Type.Boolean(),
  cpus: Nullable(Type.Number({ description: "Null for a container made before limits were recorded: the manager's `vm.vcpus`." })),
  memory_mib: Nullable(Type.Integer({ description: "Null for a container made before limits were recorded: the manager's `vm.memoryMib`." })),
  state: State,
  container_runtime_id: Type.String({ description: '`vm-` and the uuid of the VM; query /v1/vms/{uuid}.' }),
  container_id: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  error_message: Nullable(Type.String()),
  exit_code: Nullable(Type.Integer()),
  oom_killed: Type.Boolean({ description: "The last run's: the OOM killer ended a process of the container at its memory limit (Docker's OOMKilled)." }),
  restart_count: Type.Integer({ description: 'Restarts made by the restart policy since the last user start.' }),
  guest_ip: Nullable(Type.String()),
  created_at: Time,
  updated_at: Time,
  started_at: Nullable(Time),
  finished_at: Nullable(Time),
  healthcheck: Nullable(HealthcheckOut),
  health: Nullable(HealthOut),
});

export const VmItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  container_id: Type.String({ format: 'uuid' }),
  state: StringEnum(VM_STATES),
  guest_ip: Nullable(Type.String()),
  vcpus: Type.Integer({ description: "The container's `cpus` rounded up." }),
  memory_mib: Type.Integer({ description: "The VM's RAM: the container's `memory_mib` and the guest's own (40 MiB and 2% of it)." }),
  vmm: Type.String(),
  accel: Type.String(),
  pid: Nullable(Type.Integer()),
  tap: Nullable(Type.String()),
  mac: Nullable(Type.String()),
  created_at: Time,
});

export const EventItem = Type.Object({
  time: Time,
  type: StringEnum(EVENT_TYPES),
  from_state: Nullable(State),
  to_state: Nullable(State),
  message: Nullable(Type.String()),
  health_status: Nullable(HealthStatusSchema),
});

export const LogItem = Type.Object({
  timestamp: Time,
  stream: StringEnum(['stdout', 'stderr'] as const),
  message: Type.String(),
});

export const ErrorDetail = Type.Object({
  code: Type.String({ description: 'A HEARTH_ERR_* code (docs/errors.md).' }),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'The request part at fault, e.g. body/restart_policy.' })),
});
export const ErrorBody = Type.Object({ error: ErrorDetail });

export const IdParams = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 64,
      // Wide enough for a uuid and `vm-<uuid>` (an unknown one is a 404), narrow enough that no id reaches
      // the store with a character a database may refuse (NUL).
      pattern: '^[0-9a-zA-Z-]+$',
      'x-error': 'must be an id (letters, digits and "-")',
    }),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object({ state: Type.Optional(State) }, { additionalProperties: false });

export const StopQuery = Type.Object(
  { timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'Seconds before SIGKILL (default 10).' })) },
  { additionalProperties: false },
);

export const LogsQuery = Type.Object(
  {
    tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Only the last n lines.' })),
    since: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'Lines at or after this time: RFC 3339, or Unix seconds.',
      }),
    ),
    timestamps: Type.Optional(Type.Boolean({ description: 'Text format: prefix each line with its time.' })),
    stream: Type.Optional(StringEnum(['stdout', 'stderr'] as const)),
    follow: Type.Optional(Type.Boolean({ description: 'Keep streaming until the process ends (NDJSON, or chunked text).' })),
    format: Type.Optional(StringEnum(['json', 'text'] as const, { description: 'Default: from Accept, else json.' })),
  },
  { additionalProperties: false },
);
export type LogsQuery = Static<typeof LogsQuery>;

/** Error responses a route can give, for the OpenAPI document. */
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorBody]));
