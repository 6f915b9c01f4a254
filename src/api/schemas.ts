/**
 * The HTTP API's TypeBox schemas: they validate requests, shape (and strip) responses, and generate the
 * OpenAPI document, so the three cannot disagree. Every string, array and map has a size limit.
 * `x-error` is the message a failed `pattern` gives (see validation.ts).
 * @module
 */
import { Kind, Type, TypeRegistry, type SchemaOptions, type Static, type TSchema } from '@sinclair/typebox';
import { WAIT_CONDITIONS } from '../containers/waits.ts';
import { CONTAINER_STATES, EVENT_TYPES, RESTART_POLICIES, VM_STATES } from '../model/index.ts';

/** A string that is one of `values` (`{type: string, enum}` in JSON Schema); validation says "must be one of a, b, c". */
TypeRegistry.Set<{ enum: string[] }>('StringEnum', (schema, value) => typeof value === 'string' && schema.enum.includes(value));
export const StringEnum = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}) =>
  Type.Unsafe<T[number]>({ [Kind]: 'StringEnum', type: 'string', enum: [...values], ...options });

const NoNul = (maxLength: number, extra: object = {}) =>
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

const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });
const AbsolutePath = (description: string) =>
  Type.String({ minLength: 1, maxLength: 4096, pattern: '^/[^\\u0000]*$', 'x-error': 'must be an absolute path', description });

export const PortMappingIn = Type.Object(
  {
    container_port: Port('Port in the guest.'),
    host_port: Port('Port on the host; unique among all containers for its protocol.'),
    protocol: Type.Optional(StringEnum(['tcp', 'udp'] as const, { default: 'tcp' })),
  },
  { additionalProperties: false },
);
export const PortMappingOut = Type.Object({
  container_port: Type.Integer(),
  host_port: Type.Integer(),
  protocol: StringEnum(['tcp', 'udp'] as const),
});

export const VolumeIn = Type.Object(
  {
    host_path: AbsolutePath('Directory on the host.'),
    container_path: AbsolutePath('Where it appears in the container.'),
    readonly: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false, description: 'Stored; not mounted yet.' },
);
export const VolumeOut = Type.Object({ host_path: Type.String(), container_path: Type.String(), readonly: Type.Boolean() });

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

const State = StringEnum(CONTAINER_STATES);
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

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
  restart_policy: StringEnum(RESTART_POLICIES),
  restart_max_retries: Nullable(Type.Integer()),
  tty: Type.Boolean(),
  stdin_open: Type.Boolean(),
  state: State,
  container_runtime_id: Type.String({ description: '`vm-` and the uuid of the VM; query /v1/vms/{uuid}.' }),
  container_id: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  error_message: Nullable(Type.String()),
  exit_code: Nullable(Type.Integer()),
  restart_count: Type.Integer({ description: 'Restarts made by the restart policy since the last user start.' }),
  guest_ip: Nullable(Type.String()),
  created_at: Time,
  updated_at: Time,
  started_at: Nullable(Time),
  finished_at: Nullable(Time),
});

export const VmItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  container_id: Type.String({ format: 'uuid' }),
  state: StringEnum(VM_STATES),
  guest_ip: Nullable(Type.String()),
  vcpus: Type.Integer(),
  memory_mib: Type.Integer(),
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
});

export const LogItem = Type.Object({
  timestamp: Time,
  stream: StringEnum(['stdout', 'stderr'] as const),
  message: Type.String(),
});

const ErrorDetail = Type.Object({
  code: Type.String({ description: 'A HEARTH_ERR_* code (docs/errors.md).' }),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'The request part at fault, e.g. body/restart_policy.' })),
});
export const ErrorBody = Type.Object({ error: ErrorDetail });

const Digest = Type.String({ pattern: '^sha256:[a-f0-9]{64}$' });

export const ImageItem = Type.Object({
  digest: Type.String({ pattern: '^sha256:[a-f0-9]{64}$', description: "The manifest's digest: the image's identity." }),
  references: Type.Array(Type.String(), { description: 'Canonical references naming it (`docker.io/library/nginx:alpine`).' }),
  index_digest: Nullable(Digest),
  platform: Type.String({ examples: ['linux/amd64'] }),
  created: Nullable(Type.String({ description: "As the image's config says (RFC 3339 by convention)." })),
  pulled_at: Nullable(Time),
  size: Type.Integer({ description: 'Compressed size of the layers, as the registry serves them.' }),
  size_on_disk: Type.Integer({ description: 'Bytes it takes here: its blobs and its disk. Blobs shared between images count for each.' }),
  disk: Nullable(Type.Object({ fs_type: StringEnum(['ext4', 'erofs'] as const), bytes: Type.Integer() }, { description: 'Null until a container or a pull built it.' })),
  containers: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String() }), { description: 'Containers that use it, in any state.' }),
});

export const ImageDetailsItem = Type.Composite([
  ImageItem,
  Type.Object({
    media_type: Type.String(),
    layers: Type.Array(Type.Object({ digest: Digest, size: Type.Integer(), media_type: Type.String() })),
    config: Type.Object({
      entrypoint: Type.Array(Type.String()),
      cmd: Type.Array(Type.String()),
      env: Type.Array(Type.String()),
      exposed_ports: Type.Array(Type.String(), { examples: [['80/tcp']] }),
      volumes: Type.Array(Type.String()),
      healthcheck: Nullable(
        Type.Object({
          test: Type.Array(Type.String()),
          interval_ns: Type.Integer(),
          timeout_ns: Type.Integer(),
          start_period_ns: Type.Integer(),
          retries: Type.Integer(),
        }),
      ),
      user: Type.String({ description: 'Empty: root.' }),
      workdir: Type.String({ description: 'Empty: /.' }),
      labels: Type.Record(Type.String(), Type.String()),
      stop_signal: Type.String({ description: 'Empty: SIGTERM.' }),
    }),
  }),
]);

/** One line of a pull's progress stream, in this order: resolving, resolved, layer..., building, then done or error. */
export const PullLine = Type.Union([
  Type.Object({ status: StringEnum(['resolving'] as const), image: Type.String() }),
  Type.Object({
    status: StringEnum(['resolved'] as const),
    image: Type.String(),
    digest: Digest,
    layers: Type.Array(Type.Object({ digest: Digest, size: Type.Integer() })),
  }),
  Type.Object({
    status: StringEnum(['layer'] as const),
    digest: Digest,
    state: StringEnum(['cached', 'downloading', 'verified'] as const),
    done: Type.Integer({ description: 'Bytes downloaded.' }),
    total: Type.Integer(),
  }),
  Type.Object({ status: StringEnum(['building'] as const), digest: Digest }),
  Type.Object({ status: StringEnum(['done'] as const), image: Type.String(), digest: Digest }),
  Type.Object({ status: StringEnum(['error'] as const), error: ErrorDetail }),
]);

export const ImagePull = Type.Object({ image: ImageRef }, { additionalProperties: false });

export const ImageRefParams = Type.Object(
  {
    ref: Type.String({
      minLength: 1,
      maxLength: IMAGE_REF_MAX_LENGTH,
      pattern: IMAGE_REFERENCE,
      'x-error': 'must be an image reference (URL-encoded: docker.io%2Flibrary%2Fnginx:alpine) or a digest (sha256:<hex>)',
      description: 'A reference, URL-encoded as one path segment (`/` as `%2F`), or a digest `sha256:<hex>`.',
    }),
  },
  { additionalProperties: false },
);

export const ForceQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ description: 'Untag even if containers use it.' })) },
  { additionalProperties: false },
);

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

// --- execs, signals, waits, events -------------------------------------------------------------------

export const ExecParams = Type.Object(
  { exec: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-f]+$', 'x-error': 'must be an exec id (hex digits)' }) },
  { additionalProperties: false },
);

export const ExecCreate = Type.Object(
  {
    cmd: Type.Array(NoNul(32768), { minItems: 1, maxItems: 1024, description: 'The command and its arguments; looked up on PATH in the guest.' }),
    env: Type.Optional(
      Type.Record(Type.String(), NoNul(32768), {
        maxProperties: 1024,
        description: "Added to the container's environment (its image's Env and env_vars), overriding it.",
      }),
    ),
    user: Type.Optional(NoNul(256, { description: "`name`, `uid`, `name:group` or `uid:gid`. Default: the container's user." })),
    working_dir: Type.Optional(AbsolutePath("Default: the image's WorkingDir, else /.")),
    tty: Type.Optional(Type.Boolean({ default: false, description: 'A pseudo-terminal: stdout and stderr are one stream; TERM=xterm unless given.' })),
    stdin: Type.Optional(Type.Boolean({ default: false, description: 'Keep stdin open for an attached client; without it stdin is /dev/null.' })),
  },
  { additionalProperties: false },
);
export type ExecCreate = Static<typeof ExecCreate>;

export const ExecStart = Type.Object(
  { detach: Type.Optional(Type.Boolean({ default: false, description: 'Answer once the command started, without its output.' })) },
  { additionalProperties: false },
);

export const ExecItem = Type.Object({
  id: Type.String(),
  container_id: Type.String({ format: 'uuid' }),
  cmd: Type.Array(Type.String()),
  tty: Type.Boolean(),
  stdin: Type.Boolean(),
  running: Type.Boolean(),
  exit_code: Nullable(Type.Integer({ description: 'Null while it runs, if it never started, or if the VM ended first.' })),
  pid: Nullable(Type.Integer({ description: "The command's pid in the guest, once started." })),
});

export const ExecResult = Type.Object({
  exit_code: Nullable(Type.Integer()),
  output: Type.Object({
    stdout: Type.String({ description: 'UTF-8; invalid bytes become U+FFFD (use the NDJSON stream or the WebSocket for binary output).' }),
    stderr: Type.String(),
    truncated: Type.Boolean({ description: 'A stream passed 1 MiB: the rest was dropped (the command ran to its end).' }),
  }),
});

/** One line of an exec's NDJSON stream: output chunks (base64), then the exit code. */
export const ExecLine = Type.Union([
  Type.Object({ stream: StringEnum(['stdout', 'stderr'] as const), data: Type.String({ description: 'The bytes, base64.' }) }),
  Type.Object({ exit_code: Nullable(Type.Integer()) }),
]);

export const KillQuery = Type.Object(
  {
    signal: Type.Optional(
      Type.String({ minLength: 1, maxLength: 32, description: 'A name (SIGKILL, KILL, kill) or a number 1-64. Default SIGKILL.' }),
    ),
  },
  { additionalProperties: false },
);

export const WaitQuery = Type.Object(
  { condition: Type.Optional(StringEnum(WAIT_CONDITIONS, { default: 'not-running' })) },
  { additionalProperties: false },
);

export const WaitResult = Type.Object({
  exit_code: Nullable(Type.Integer({ description: "The last run's exit code (null if it had none)." })),
  error: Type.Optional(Type.Object({ message: Type.String() }, { description: 'The run ended in error: why.' })),
});

export const RenameQuery = Type.Object({ name: ContainerName }, { additionalProperties: false });

export const TopResult = Type.Object({
  titles: Type.Array(Type.String(), { examples: [['PID', 'PPID', 'USER', 'TIME', 'RSS', 'CMD']] }),
  processes: Type.Array(Type.Array(Type.String())),
});

const CommaList = (description: string) => Type.String({ maxLength: 8192, pattern: '^[^\\u0000]*$', description });

export const EventsQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ maxLength: 64, description: 'Events at or after this time: RFC 3339 or Unix seconds.' })),
    until: Type.Optional(Type.String({ maxLength: 64, description: 'Events at or before this time; the stream ends when it has passed.' })),
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Events after this event id (resume where you left; SSE clients send `Last-Event-ID`).' })),
    container: Type.Optional(CommaList('Only these containers: ids or names, comma-separated (names as they are when the stream opens).')),
    type: Type.Optional(CommaList(`Only these event types, comma-separated: ${EVENT_TYPES.join(', ')}.`)),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuery>;

export const StreamEventItem = Type.Object({
  id: Type.Integer({ description: 'Increasing in the order events are written.' }),
  container_id: Type.String({ format: 'uuid' }),
  time: Time,
  type: StringEnum(EVENT_TYPES),
  from_state: Nullable(State),
  to_state: Nullable(State),
  message: Nullable(Type.String()),
  exit_code: Nullable(Type.Integer()),
});

/** Error responses a route can give, for the OpenAPI document. */
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorBody]));
