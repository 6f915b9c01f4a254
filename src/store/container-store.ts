/**
 * `ContainerStore` is the only door to the database: containers, the VMs (and so the addresses and taps)
 * they hold, the events of their lives, the volumes (`volumes`, volume-rows.ts) and networks (`networks`, network-rows.ts). SQLite by default (one file, WAL, foreign keys on, a busy
 * timeout); the queries are plain Kysely and keep JSON as TEXT so a PostgreSQL dialect can be dropped in
 * through `ContainerStore.fromKysely`.
 * @module
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Insertable, type Selectable, type Transaction } from 'kysely';
import { HearthError } from '../errors.ts';
import { migrations, type Dialect } from './migrations.ts';
import { NetworkRows, type NetworksTable } from './network-rows.ts';
import { VolumeRows, type VolumesTable } from './volume-rows.ts';
import type {
  ContainerRecord,
  ContainerState,
  EventRecord,
  EventType,
  ExtraHost,
  HealthcheckSpec,
  HealthState,
  HealthStatus,
  NetworkMembership,
  PortMapping,
  TmpfsMount,
  VmRecord,
  VolumeMount,
} from '../model/index.ts';

const JSON_COLUMNS = ['args', 'env_vars', 'volumes', 'port_mappings', 'labels', 'networks', 'extra_hosts', 'dns', 'dns_search', 'dns_options', 'tmpfs', 'cap_add', 'cap_drop'] as const;
type JsonColumn = (typeof JSON_COLUMNS)[number];
/** JSON documents that may be absent: SQL NULL, not the text `null`. */
const NULLABLE_JSON_COLUMNS = ['healthcheck', 'health', 'entrypoint'] as const;
type NullableJsonColumn = (typeof NULLABLE_JSON_COLUMNS)[number];
const FLAG_COLUMNS = ['tty', 'stdin_open', 'oom_killed', 'auto_remove', 'privileged'] as const;
type FlagColumn = (typeof FLAG_COLUMNS)[number];

/**
 * A container as stored: the record, with its lists and maps as JSON text and its flags as 0/1 (portable to
 * PostgreSQL; SQLite has no boolean).
 */
type ContainersTable = {
  [K in keyof ContainerRecord]: K extends JsonColumn
    ? string
    : K extends NullableJsonColumn
      ? string | null
      : K extends FlagColumn
        ? number
        : ContainerRecord[K];
};

interface EventsTable {
  id: import('kysely').Generated<number>;
  container_id: string | null;
  image: string | null;
  volume: string | null;
  network: string | null;
  time: string;
  type: string;
  from_state: string | null;
  to_state: string | null;
  message: string | null;
  exit_code: number | null;
  health_status: string | null;
}

interface Schema {
  containers: ContainersTable;
  vms: VmRecord;
  events: EventsTable;
  volumes: VolumesTable;
  networks: NetworksTable;
}

function toRow(c: Partial<ContainerRecord>): Partial<ContainersTable> {
  const row: Record<string, unknown> = { ...c };
  for (const k of JSON_COLUMNS) if (c[k] !== undefined) row[k] = JSON.stringify(c[k]);
  for (const k of NULLABLE_JSON_COLUMNS) if (c[k] !== undefined) row[k] = c[k] === null ? null : JSON.stringify(c[k]);
  for (const k of FLAG_COLUMNS) if (c[k] !== undefined) row[k] = c[k] ? 1 : 0;
  return row as Partial<ContainersTable>;
}

function fromRow(r: Selectable<ContainersTable>): ContainerRecord {
  return {
    ...r,
    args: JSON.parse(r.args) as string[],
    env_vars: JSON.parse(r.env_vars) as Record<string, string>,
    // Mounts stored before named volumes existed have no `name`.
    volumes: (JSON.parse(r.volumes) as VolumeMount[]).map((v) => ({ ...v, name: v.name ?? null, host_path: v.host_path ?? null })),
    port_mappings: JSON.parse(r.port_mappings) as PortMapping[],
    networks: JSON.parse(r.networks) as NetworkMembership[],
    tty: Boolean(r.tty),
    stdin_open: Boolean(r.stdin_open),
    healthcheck: r.healthcheck === null ? null : (JSON.parse(r.healthcheck) as HealthcheckSpec),
    health: r.health === null ? null : (JSON.parse(r.health) as HealthState),
    oom_killed: Boolean(r.oom_killed),
    entrypoint: r.entrypoint === null ? null : (JSON.parse(r.entrypoint) as string[]),
    labels: JSON.parse(r.labels) as Record<string, string>,
    auto_remove: Boolean(r.auto_remove),
    extra_hosts: JSON.parse(r.extra_hosts) as ExtraHost[],
    dns: JSON.parse(r.dns) as string[],
    dns_search: JSON.parse(r.dns_search) as string[],
    dns_options: JSON.parse(r.dns_options) as string[],
    tmpfs: JSON.parse(r.tmpfs) as TmpfsMount[],
    cap_add: JSON.parse(r.cap_add) as string[],
    cap_drop: JSON.parse(r.cap_drop) as string[],
    privileged: Boolean(r.privileged),
  };
}

const nowIso = () => new Date().toISOString();

function chmodIfExists(file: string, mode: number): void {
  try {
    chmodSync(file, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** A state change and the event recording it, written together. */
export interface Transition {
  to: ContainerState;
  /** Other columns to set in the same write. */
  patch?: Partial<Omit<ContainerRecord, 'id' | 'state'>>;
  message?: string | null;
}

/** Which events `listAllEvents` returns, oldest first. */
export interface EventQuery {
  /** Only events with a greater id (a cursor: the id of the last event seen). */
  afterId?: number;
  /** Only events at or after this time (ISO 8601). */
  since?: string;
  /** Only events at or before this time (ISO 8601). */
  until?: string;
  containerIds?: readonly string[];
  types?: readonly EventType[];
  /** At most this many. */
  limit?: number;
}

/** Told of every event once it is written (committed), with its id, in id order. */
export type EventListener = (e: EventRecord) => void;

export class ContainerStore {
  private readonly listeners = new Set<EventListener>();
  /** The volumes' rows (volume-rows.ts). */
  readonly volumes: VolumeRows;
  /** The networks' rows (network-rows.ts). */
  readonly networks: NetworkRows;

  private constructor(
    private readonly db: Kysely<Schema>,
    readonly dialect: Dialect,
  ) {
    this.volumes = new VolumeRows(db as unknown as Kysely<{ volumes: VolumesTable }>);
    this.networks = new NetworkRows(db as unknown as Kysely<{ networks: NetworksTable }>);
  }

  /**
   * Opens (creating if needed) the SQLite file at `path` and brings its schema up to date. The file is the
   * owner's only (0600): it holds every container's settings, env_vars included. SQLite gives the -wal and
   * -shm files it creates the database's mode; ones left by an older version are tightened too.
   */
  static async openSqlite(path: string): Promise<ContainerStore> {
    closeSync(openSync(path, 'a', 0o600));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) chmodIfExists(file, 0o600);
    const sqlite = new Database(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    return ContainerStore.fromKysely(new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) }), 'sqlite');
  }

  /** Wraps any Kysely instance (e.g. PostgreSQL) and runs the migrations. */
  static async fromKysely(db: Kysely<unknown>, dialect: Dialect): Promise<ContainerStore> {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(dialect) } });
    const { error } = await migrator.migrateToLatest();
    if (error) {
      await db.destroy();
      throw new HearthError('Internal', 'HEARTH_ERR_STORE', `database migration failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new ContainerStore(db as Kysely<Schema>, dialect);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  // --- containers ---------------------------------------------------------------------------------------

  /** Inserts a container and its first event; a taken name is AlreadyExists. */
  async insertContainer(c: ContainerRecord, message = 'container created'): Promise<void> {
    const event = await this.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('containers').select('id').where('name', '=', c.name).executeTakeFirst();
      if (taken) {
        throw new HearthError('AlreadyExists', 'HEARTH_ERR_NAME_IN_USE', `the name "${c.name}" is already used by container ${taken.id}`, {
          field: 'body/name',
        });
      }
      await tx.insertInto('containers').values(toRow(c) as Insertable<ContainersTable>).execute();
      return addEvent(tx, { container_id: c.id, type: 'state', from_state: null, to_state: c.state, message });
    });
    this.publish(event);
  }

  async getContainer(id: string): Promise<ContainerRecord | undefined> {
    const row = await this.db.selectFrom('containers').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  async listContainers(state?: ContainerState): Promise<ContainerRecord[]> {
    let q = this.db.selectFrom('containers').selectAll().orderBy('created_at').orderBy('id');
    if (state) q = q.where('state', '=', state);
    return (await q.execute()).map(fromRow);
  }

  /** Sets columns without a state change (no event). Returns the updated record. */
  async updateContainer(id: string, patch: Partial<Omit<ContainerRecord, 'id' | 'state'>>): Promise<ContainerRecord> {
    await this.db
      .updateTable('containers')
      .set({ ...toRow(patch), updated_at: nowIso() })
      .where('id', '=', id)
      .execute();
    return this.mustGet(id);
  }

  /** Moves a container to a state and records the event, in one transaction. */
  async transition(id: string, t: Transition): Promise<ContainerRecord> {
    const time = nowIso();
    const event = await this.db.transaction().execute(async (tx) => {
      const cur = await tx.selectFrom('containers').select('state').where('id', '=', id).executeTakeFirst();
      if (!cur) return undefined;
      await tx
        .updateTable('containers')
        .set({ ...toRow(t.patch ?? {}), state: t.to, updated_at: time })
        .where('id', '=', id)
        .execute();
      return addEvent(tx, {
        container_id: id,
        time,
        type: 'state',
        from_state: cur.state as ContainerState,
        to_state: t.to,
        message: t.message ?? null,
        exit_code: ENDED_STATES.has(t.to) ? (t.patch?.exit_code ?? null) : null,
      });
    });
    if (event) this.publish(event);
    return this.mustGet(id);
  }

  /** Renames a container; a taken name is AlreadyExists. Returns the updated record. */
  async renameContainer(id: string, name: string): Promise<ContainerRecord> {
    await this.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('containers').select('id').where('name', '=', name).where('id', '!=', id).executeTakeFirst();
      if (taken) {
        throw new HearthError('AlreadyExists', 'HEARTH_ERR_NAME_IN_USE', `the name "${name}" is already used by container ${taken.id}`, {
          field: 'querystring/name',
        });
      }
      await tx.updateTable('containers').set({ name, updated_at: nowIso() }).where('id', '=', id).execute();
    });
    return this.mustGet(id);
  }

  async deleteContainer(id: string): Promise<void> {
    // vms and events go with it (ON DELETE CASCADE).
    await this.db.deleteFrom('containers').where('id', '=', id).execute();
  }

  private async mustGet(id: string): Promise<ContainerRecord> {
    const c = await this.getContainer(id);
    if (!c) throw new HearthError('NotFound', 'HEARTH_ERR_CONTAINER_NOT_FOUND', `no container with id ${id}`);
    return c;
  }

  /**
   * Writes what the health checks found, without touching `updated_at` (a check is not a change to the
   * container), and `event` with it when the status changed. Nothing for a container deleted meanwhile.
   */
  async setHealth(id: string, health: HealthState | null, event?: { message: string }): Promise<void> {
    const written = await this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('containers')
        .set({ health: health === null ? null : JSON.stringify(health) })
        .where('id', '=', id)
        .executeTakeFirst();
      if (r.numUpdatedRows === 0n || !event || !health) return undefined;
      return addEvent(tx, { container_id: id, type: 'health-status', from_state: null, to_state: null, message: event.message, health_status: health.status });
    });
    if (written) this.publish(written);
  }

  // --- events -------------------------------------------------------------------------------------------

  async addEvent(e: NewEvent): Promise<EventRecord> {
    const event = await addEvent(this.db, e);
    this.publish(event);
    return event;
  }

  async listEvents(containerId: string): Promise<EventRecord[]> {
    return this.listAllEvents({ containerIds: [containerId] });
  }

  /** Events of every container (or those `q` picks), oldest first (by id: the order they were written). */
  async listAllEvents(q: EventQuery = {}): Promise<EventRecord[]> {
    let query = this.db.selectFrom('events').selectAll().orderBy('id');
    if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
    if (q.since !== undefined) query = query.where('time', '>=', q.since);
    if (q.until !== undefined) query = query.where('time', '<=', q.until);
    if (q.containerIds?.length === 0 || q.types?.length === 0) return [];
    if (q.containerIds) query = query.where('container_id', 'in', [...q.containerIds]);
    if (q.types) query = query.where('type', 'in', [...q.types]);
    if (q.limit !== undefined) query = query.limit(q.limit);
    return (await query.execute()).map(fromEventRow);
  }

  /**
   * Calls `listener` with every event written from now on, after its write is committed. Events are
   * numbered in the order they are written, and the listener hears them in that order (writes are
   * serialised by the database; this process is the only writer).
   */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(e: EventRecord): void {
    for (const l of this.listeners) l(e);
  }

  // --- vms (and the addresses and taps they hold) -------------------------------------------------------

  async insertVm(vm: VmRecord): Promise<void> {
    await this.db.insertInto('vms').values(vm).execute();
  }

  async updateVm(id: string, patch: Partial<Omit<VmRecord, 'id' | 'container_id'>>): Promise<void> {
    await this.db.updateTable('vms').set({ ...patch, updated_at: nowIso() }).where('id', '=', id).execute();
  }

  async getVm(id: string): Promise<VmRecord | undefined> {
    return this.db.selectFrom('vms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listVms(): Promise<VmRecord[]> {
    return this.db.selectFrom('vms').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async deleteVm(id: string): Promise<void> {
    await this.db.deleteFrom('vms').where('id', '=', id).execute();
  }
}

type NewEvent = Omit<EventRecord, 'id' | 'time' | 'exit_code' | 'image' | 'volume' | 'network' | 'health_status'> & {
  time?: string;
  exit_code?: number | null;
  image?: string | null;
  volume?: string | null;
  network?: string | null;
  health_status?: HealthStatus | null;
};

/** The states a run ends in: their transitions carry the exit code. */
const ENDED_STATES: ReadonlySet<ContainerState> = new Set(['exited', 'stopped', 'error']);

async function addEvent(db: Kysely<Schema> | Transaction<Schema>, e: NewEvent): Promise<EventRecord> {
  const row = {
    ...e,
    time: e.time ?? nowIso(),
    exit_code: e.exit_code ?? null,
    image: e.image ?? null,
    volume: e.volume ?? null,
    network: e.network ?? null,
    health_status: e.health_status ?? null,
  };
  const { id } = await db.insertInto('events').values(row).returning('id').executeTakeFirstOrThrow();
  return { ...row, id: Number(id) };
}

function fromEventRow(r: Selectable<EventsTable>): EventRecord {
  return {
    ...r,
    type: r.type as EventType,
    from_state: r.from_state as ContainerState | null,
    to_state: r.to_state as ContainerState | null,
    health_status: r.health_status as HealthStatus | null,
  };
}
