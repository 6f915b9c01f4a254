/**
 * The schema, as an ordered list of migrations that Kysely's Migrator runs at start-up and records in
 * `kysely_migration`. Add a new entry at the end; never edit one that has shipped.
 *
 * Portable on purpose: TEXT for JSON documents and ISO-8601 timestamps (fixed width, so they sort), no
 * SQLite-only statements. The one dialect difference, an auto-numbered key, is chosen by `dialect`.
 * @module
 */
import { sql, type Kysely, type Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('containers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('image', 'text', (c) => c.notNull())
          .addColumn('args', 'text', (c) => c.notNull())
          .addColumn('env_vars', 'text', (c) => c.notNull())
          .addColumn('volumes', 'text', (c) => c.notNull())
          .addColumn('port_mappings', 'text', (c) => c.notNull())
          .addColumn('restart_policy', 'text', (c) => c.notNull())
          .addColumn('restart_max_retries', 'integer')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('desired_state', 'text', (c) => c.notNull())
          .addColumn('restart_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('exit_code', 'integer')
          .addColumn('error_message', 'text')
          .addColumn('vm_id', 'text', (c) => c.notNull().unique())
          .addColumn('container_id', 'text', (c) => c.notNull().unique())
          .addColumn('guest_ip', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .execute();
        await db.schema.createIndex('containers_state').on('containers').column('state').execute();

        // One row per VM that exists or may exist on the host: from the moment its address and tap are taken
        // until they are given back. The unique keys make a double allocation fail loudly.
        await db.schema
          .createTable('vms')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('container_id', 'text', (c) => c.notNull().references('containers.id').onDelete('cascade'))
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer')
          .addColumn('vcpus', 'integer', (c) => c.notNull())
          .addColumn('memory_mib', 'integer', (c) => c.notNull())
          .addColumn('vmm', 'text', (c) => c.notNull())
          .addColumn('accel', 'text', (c) => c.notNull())
          .addColumn('guest_ip', 'text', (c) => c.unique())
          .addColumn('prefix_length', 'integer')
          .addColumn('gateway', 'text')
          .addColumn('tap', 'text', (c) => c.unique())
          .addColumn('mac', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('vms_container').on('vms').column('container_id').execute();

        await db.schema
          .createTable('events')
          .addColumn('id', dialect === 'postgres' ? sql`bigint generated always as identity` : 'integer', (c) =>
            c.primaryKey(),
          )
          .addColumn('container_id', 'text', (c) => c.notNull().references('containers.id').onDelete('cascade'))
          .addColumn('time', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text')
          .addColumn('to_state', 'text')
          .addColumn('message', 'text')
          .execute();
        await db.schema.createIndex('events_container').on('events').columns(['container_id', 'id']).execute();
      },
    },
    '0002_stop_signal': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('stop_signal', 'text').execute();
      },
    },
    '0003_event_exit_code': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('events').addColumn('exit_code', 'integer').execute();
      },
    },
    // 0 or 1 (SQLite has no boolean; the store converts), so one column type serves both dialects.
    '0004_tty_stdin_open': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('tty', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('containers').addColumn('stdin_open', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0005_image_digest': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('image_digest', 'text').execute();
      },
    },
    // Image events (a pull or removal through the image API) belong to no container: container_id becomes
    // nullable and `image` names the reference. SQLite cannot drop NOT NULL in place, so it copies the
    // table (ids kept, and AUTOINCREMENT from now on, so an id is never reused after the newest events go
    // with their container: clients resume by id); PostgreSQL alters it (its identity never reuses one).
    '0006_image_events': {
      async up(db: Kysely<unknown>) {
        if (dialect === 'postgres') {
          await sql`ALTER TABLE events ALTER COLUMN container_id DROP NOT NULL`.execute(db);
          await db.schema.alterTable('events').addColumn('image', 'text').execute();
          return;
        }
        await db.schema
          .createTable('events_next')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('container_id', 'text', (c) => c.references('containers.id').onDelete('cascade'))
          .addColumn('image', 'text')
          .addColumn('time', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text')
          .addColumn('to_state', 'text')
          .addColumn('message', 'text')
          .addColumn('exit_code', 'integer')
          .execute();
        await sql`INSERT INTO events_next (id, container_id, time, type, from_state, to_state, message, exit_code)
          SELECT id, container_id, time, type, from_state, to_state, message, exit_code FROM events`.execute(db);
        await db.schema.dropTable('events').execute();
        await db.schema.alterTable('events_next').renameTo('events').execute();
        await db.schema.createIndex('events_container').on('events').columns(['container_id', 'id']).execute();
      },
    },
    // JSON text or NULL: the request's healthcheck, and what the checks found (written after every check).
    '0007_health': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('healthcheck', 'text').execute();
        await db.schema.alterTable('containers').addColumn('health', 'text').execute();
        await db.schema.alterTable('events').addColumn('health_status', 'text').execute();
      },
    },
    // Null limits are the manager's defaults (rows made before this); `double precision` is REAL in SQLite.
    '0008_resource_limits': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('cpus', 'double precision').execute();
        await db.schema.alterTable('containers').addColumn('memory_mib', 'integer').execute();
        await db.schema.alterTable('containers').addColumn('oom_killed', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    // Which containers use a volume is in their `volumes` documents; an anonymous volume names its container
    // without a foreign key, so deleting the container's row never loses track of the volume's disk.
    '0009_volumes': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('volumes')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('size_mib', 'integer', (c) => c.notNull())
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('anonymous_for', 'text')
          .addColumn('anonymous_path', 'text')
          .addColumn('initialized', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('volumes_anonymous_for').on('volumes').column('anonymous_for').execute();
      },
    },
    // What the Docker API sets beside the rest: overrides of the image's process (NULL: the image's; the
    // entrypoint as JSON text), labels (a JSON object) and auto-removal (0 or 1).
    '0010_docker_fields': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('entrypoint', 'text').execute();
        await db.schema.alterTable('containers').addColumn('working_dir', 'text').execute();
        await db.schema.alterTable('containers').addColumn('user', 'text').execute();
        await db.schema.alterTable('containers').addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}')).execute();
        await db.schema.alterTable('containers').addColumn('auto_remove', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    // Networks made through the Docker API, and the ones each container joined (JSON; '[]': bridge only); a
    // volume's Docker driver options as given (JSON).
    '0011_networks': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('networks')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.alterTable('containers').addColumn('networks', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('volumes').addColumn('driver_options', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      },
    },
    // Docker's `--hostname` (NULL: the short id). A port mapping's host address needs none: mappings are JSON,
    // and one stored without `host_ip` is published on the default address as before.
    '0012_hostname': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('hostname', 'text').execute();
      },
    },
    // A container's own /etc/hosts entries and name servers (JSON lists; '[]': none, the manager's).
    '0013_extra_hosts_dns': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('extra_hosts', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('containers').addColumn('dns', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      },
    },
    // The user's stop signal and timeout (NULL: the image's signal, the manager's timeout) beside the image's
    // signal, which the old column held; resolv.conf's search domains and options (JSON lists).
    '0014_stop_settings_dns_search': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').renameColumn('stop_signal', 'image_stop_signal').execute();
        await db.schema.alterTable('containers').addColumn('stop_signal', 'text').execute();
        await db.schema.alterTable('containers').addColumn('stop_timeout_s', 'integer').execute();
        await db.schema.alterTable('containers').addColumn('dns_search', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('containers').addColumn('dns_options', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      },
    },
    // Docker's --tmpfs (a JSON list; '[]': none) and capabilities: '[]' added and dropped, not privileged. A
    // container made before these runs with Docker's default set from now on, as a Docker container would,
    // no longer with every capability of its guest.
    '0015_tmpfs_capabilities': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('containers').addColumn('tmpfs', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('containers').addColumn('cap_add', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('containers').addColumn('cap_drop', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('containers').addColumn('privileged', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    // Volume and network events name their volume or network (NULL for every other event).
    '0016_volume_network_events': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('events').addColumn('volume', 'text').execute();
        await db.schema.alterTable('events').addColumn('network', 'text').execute();
      },
    },
  };
}
