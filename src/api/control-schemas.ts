/**
 * The TypeBox schemas of the routes that reach into a running container (execs, kill, wait, rename, top)
 * and of the events stream. Shared pieces come from ./schemas.ts.
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { WAIT_CONDITIONS } from '../containers/waits.ts';
import { EVENT_TYPES } from '../model/index.ts';
import { AbsolutePath, ContainerName, HealthStatusSchema, NoNul, Nullable, State, StringEnum, Time } from './schemas.ts';

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
    privileged: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Every capability of the guest's kernel (`docker exec --privileged`); default: the container's. Never the host's.",
      }),
    ),
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
  container_id: Nullable(Type.String({ format: 'uuid', description: 'Null for an image event.' })),
  image: Nullable(Type.String({ description: 'The image reference of an image event (image-pull, image-tag, image-untag, image-delete); null otherwise.' })),
  volume: Nullable(Type.String({ description: 'The volume of a volume event (volume-create, volume-delete); null otherwise.' })),
  network: Nullable(Type.String({ description: 'The network of a network event (network-create, network-delete, network-connect, network-disconnect); null otherwise.' })),
  time: Time,
  type: StringEnum(EVENT_TYPES),
  from_state: Nullable(State),
  to_state: Nullable(State),
  message: Nullable(Type.String()),
  exit_code: Nullable(Type.Integer()),
  health_status: Nullable(HealthStatusSchema),
});
