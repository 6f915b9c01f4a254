import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrations } from '../../src/store/migrations.ts';
import { ContainerStore } from '../../src/store/container-store.ts';
import type { ContainerRecord } from '../../src/model/index.ts';
import { isHearthError } from '../../src/errors.ts';

function record(name: string): ContainerRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(), name, image: 'nginx:alpine', args: ['a b', 'c'], env_vars: { K: 'v' },
    volumes: [{ name: null, host_path: '/h', container_path: '/c', readonly: true }],
    port_mappings: [{ container_port: 80, host_port: 8080, protocol: 'tcp' }, { container_port: 53, host_port: 5353, protocol: 'udp', host_ip: '127.0.0.1' }],
    restart_policy: 'on-failure', restart_max_retries: 5, tty: true, stdin_open: false, cpus: 0.5, memory_mib: 64, state: 'creating', desired_state: 'running',
    restart_count: 0, exit_code: null, oom_killed: true, error_message: null, vm_id: randomUUID(),
    container_id: randomBytes(32).toString('hex'), guest_ip: null, created_at: now, updated_at: now,
    started_at: null, finished_at: null, image_stop_signal: 'SIGQUIT', image_digest: null,
    dns_search: ['corp.example'], dns_options: ['ndots:2'], stop_signal: 'SIGUSR1', stop_timeout_s: 3,
    healthcheck: { test: ['CMD-SHELL', 'curl -f localhost'], interval_s: 1.5 }, health: null,
    entrypoint: ['/bin/sh', '-c'], working_dir: '/srv', user: '1000:1000', labels: { 'com.example.a': 'b' }, auto_remove: true,
    networks: [{ network: 'app_default', aliases: ['web'] }], hostname: 'web1',
    extra_hosts: [{ hostname: 'db.local', ip: '10.1.2.3' }, { hostname: 'host.docker.internal', ip: 'host-gateway' }], dns: ['10.9.9.9'],
    tmpfs: [{ container_path: '/run', options: 'size=64m,mode=1777' }], cap_add: ['CAP_NET_ADMIN'], cap_drop: ['ALL'], privileged: true,
  };
}

/** The record as the schema of 0005 has it (no limits, health or Docker fields). */
function withoutLaterColumns(c: ContainerRecord) {
  const { cpus: _c, memory_mib: _m, oom_killed: _o, healthcheck: _h, health: _s, networks: _n, hostname: _hn, extra_hosts: _x, dns: _d, ...rest } = c;
  const { entrypoint: _e, working_dir: _w, user: _u, labels: _l, auto_remove: _a, tmpfs: _t, cap_add: _ca, cap_drop: _cd, privileged: _p, ...after0010 } = rest;
  const { dns_search: _ds, dns_options: _do, stop_timeout_s: _st, stop_signal: _ss, image_stop_signal, ...at0005 } = after0010;
  // Before 0014 the image's stop signal was the column `stop_signal`.
  return { ...at0005, stop_signal: image_stop_signal };
}

describe('ContainerStore (SQLite)', () => {
  it('moves the events of an older database over with their ids; image events have no container; ids are never reused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const file = join(dir, 'hearth.db');
    try {
      const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
      const migrated = await new Migrator({ db: old, provider: { getMigrations: async () => migrations('sqlite') } }).migrateTo('0005_image_digest');
      assert.equal(migrated.error, undefined);
      const c = record('old');
      const at0005 = withoutLaterColumns(c);
      await old.insertInto('containers').values({ ...at0005, args: '[]', env_vars: '{}', volumes: '[]', port_mappings: '[]', tty: 0, stdin_open: 0 }).execute();
      await old.insertInto('events').values([5, 9].map((id) => ({ id, container_id: c.id, time: c.created_at, type: 'updated', message: `event ${id}` }))).execute();
      await old.destroy();

      const s = await ContainerStore.openSqlite(file);
      assert.deepEqual((await s.listEvents(c.id)).map((e) => [e.id, e.message, e.image]), [[5, 'event 5', null], [9, 'event 9', null]]);
      const pulled = await s.addEvent({ container_id: null, image: 'busybox', type: 'image-pull', from_state: null, to_state: null, message: 'pulled' });
      assert.equal(pulled.id, 10);
      const d = record('doomed');
      await s.insertContainer(d);
      const last = (await s.listEvents(d.id)).at(-1)!.id;
      await s.deleteContainer(d.id);
      const next = await s.addEvent({ container_id: c.id, type: 'updated', from_state: null, to_state: null, message: null });
      assert.ok(next.id > last, `a deleted container's ids are not given again (${next.id} after ${last})`);
      assert.deepEqual((await s.listAllEvents({ types: ['image-pull'] })).map((e) => [e.container_id, e.image]), [[null, 'busybox']]);
      await assert.rejects(s.addEvent({ container_id: 'nope', type: 'updated', from_state: null, to_state: null, message: null }), /FOREIGN KEY/);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrates once, in WAL mode with foreign keys, and round-trips a container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const file = join(dir, 'hearth.db');
    try {
      const s1 = await ContainerStore.openSqlite(file);
      const c = record('web');
      await s1.insertContainer(c);
      assert.deepEqual(await s1.getContainer(c.id), c);
      await s1.close();
      const s2 = await ContainerStore.openSqlite(file); // migrations already applied: no error, data kept
      assert.deepEqual((await s2.listContainers()).map((x) => x.name), ['web']);
      await s2.close();
      const raw = new Database(file, { readonly: true });
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const applied = raw.prepare('select name from kysely_migration order by name').all();
      assert.deepEqual(applied, Object.keys(migrations('sqlite')).map((name) => ({ name })), 'every migration, each once');
      raw.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a taken name, records transitions with events, cascades deletes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const s = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
    try {
      const c = record('db');
      await s.insertContainer(c);
      await assert.rejects(s.insertContainer(record('db')), (e) => isHearthError(e, 'HEARTH_ERR_NAME_IN_USE') && e.kind === 'AlreadyExists');
      const after = await s.transition(c.id, { to: 'booting', patch: { guest_ip: '10.0.0.2' }, message: 'boot' });
      assert.deepEqual([after.state, after.guest_ip], ['booting', '10.0.0.2']);
      const events = await s.listEvents(c.id);
      assert.deepEqual(events.map((e) => [e.from_state, e.to_state, e.message]), [[null, 'creating', 'container created'], ['creating', 'booting', 'boot']]);
      const now = new Date().toISOString();
      await s.insertVm({ id: c.vm_id, container_id: c.id, state: 'allocated', pid: null, vcpus: 1, memory_mib: 256, vmm: 'qemu', accel: 'tcg', guest_ip: '10.0.0.2', prefix_length: 24, gateway: '10.0.0.1', tap: 'hth2', mac: null, created_at: now, updated_at: now });
      const other = record('other');
      await s.insertContainer(other);
      await assert.rejects(
        s.insertVm({ id: other.vm_id, container_id: other.id, state: 'allocated', pid: null, vcpus: 1, memory_mib: 256, vmm: 'qemu', accel: 'tcg', guest_ip: '10.0.0.2', prefix_length: 24, gateway: '10.0.0.1', tap: 'hth3', mac: null, created_at: now, updated_at: now }),
        /UNIQUE/,
        'an address cannot be allocated twice',
      );
      await assert.rejects(s.addEvent({ container_id: 'nope', type: 'updated', from_state: null, to_state: null, message: null }), /FOREIGN KEY/);
      await s.deleteContainer(c.id);
      assert.equal(await s.getVm(c.vm_id), undefined);
      assert.deepEqual(await s.listEvents(c.id), []);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes health without touching updated_at, with an event only when asked, and nothing for a deleted container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const s = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
    try {
      const c = record('checked');
      await s.insertContainer(c);
      const heard: string[] = [];
      s.onEvent((e) => heard.push(`${e.type}:${e.health_status}`));
      const result = { start: '2024-01-01T00:00:00.000Z', end: '2024-01-01T00:00:01.000Z', exit_code: 1, output: 'no\n' };
      await s.setHealth(c.id, { status: 'starting', failing_streak: 1, log: [result] });
      const read = await s.getContainer(c.id);
      assert.deepEqual(read?.health, { status: 'starting', failing_streak: 1, log: [result] });
      assert.equal(read?.updated_at, c.updated_at);
      await s.setHealth(c.id, { status: 'unhealthy', failing_streak: 2, log: [result, result] }, { message: '2 failed' });
      const last = (await s.listEvents(c.id)).at(-1);
      assert.deepEqual([last?.type, last?.health_status, last?.message], ['health-status', 'unhealthy', '2 failed']);
      assert.deepEqual(heard, ['health-status:unhealthy']);
      await s.setHealth(c.id, null);
      assert.equal((await s.getContainer(c.id))?.health, null);
      await s.deleteContainer(c.id);
      await s.setHealth(c.id, { status: 'healthy', failing_streak: 0, log: [] }, { message: 'passed' });
      assert.deepEqual(heard, ['health-status:unhealthy']);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives containers recorded before limits null cpus and memory_mib (the defaults) and oom_killed false', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const file = join(dir, 'hearth.db');
    try {
      // The schema as the version before limits left it, with one of its containers.
      const before = Object.fromEntries(Object.entries(migrations('sqlite')).filter(([name]) => name < '0008'));
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
      const { error } = await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
      assert.equal(error, undefined);
      await db.destroy();
      const old = record('old');
      const raw = new Database(file);
      const row = { ...withoutLaterColumns(old), args: '[]', env_vars: '{}', volumes: '[]', port_mappings: '[]', tty: 0, stdin_open: 0 };
      raw.prepare(`insert into containers (${Object.keys(row).join(', ')}) values (${Object.keys(row).map((k) => `@${k}`).join(', ')})`).run(row);
      raw.close();
      const s = await ContainerStore.openSqlite(file);
      const c = (await s.getContainer(old.id))!;
      assert.deepEqual([c.cpus, c.memory_mib, c.oom_killed, c.networks, c.hostname, c.extra_hosts, c.dns], [null, null, false, [], null, [], []]);
      assert.deepEqual([c.image_stop_signal, c.stop_signal, c.stop_timeout_s, c.dns_search, c.dns_options], ['SIGQUIT', null, null, [], []], "the image's stop signal kept, the user's none");
      assert.deepEqual([c.tmpfs, c.cap_add, c.cap_drop, c.privileged], [[], [], [], false], "no tmpfs, and Docker's default capabilities");
      const changed = await s.updateContainer(old.id, { cpus: 1.5, memory_mib: 64, oom_killed: true });
      assert.deepEqual([changed.cpus, changed.memory_mib, changed.oom_killed], [1.5, 64, true], 'a fractional cpus is kept exactly');
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('keeps volumes: a taken name refused, labels and flags round-trip, anonymous ones found by container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const s = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
    try {
      const now = new Date().toISOString();
      const named = { name: 'pgdata', size_mib: 512, labels: { team: 'db' }, driver_options: { size: '512m' }, anonymous_for: null, anonymous_path: null, initialized: false, created_at: now };
      const anon = { ...named, name: 'a'.repeat(64), labels: {}, anonymous_for: 'c1', anonymous_path: '/data' };
      await s.volumes.insert(named);
      await s.volumes.insert(anon);
      await assert.rejects(s.volumes.insert(named), (e) => isHearthError(e, 'HEARTH_ERR_VOLUME_EXISTS') && e.kind === 'AlreadyExists');
      assert.deepEqual(await s.volumes.get('pgdata'), named);
      await s.volumes.markInitialized('pgdata');
      assert.equal((await s.volumes.get('pgdata'))?.initialized, true);
      assert.deepEqual((await s.volumes.anonymousOf('c1')).map((v) => v.anonymous_path), ['/data']);
      await s.volumes.delete('pgdata');
      assert.deepEqual((await s.volumes.list()).map((v) => v.name), [anon.name]);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps networks: a taken name refused, labels round-trip, a container\'s memberships with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const s = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
    try {
      const n = { name: 'app_default', id: 'a'.repeat(64), labels: { 'com.docker.compose.project': 'app' }, created_at: new Date().toISOString() };
      await s.networks.insert(n);
      await assert.rejects(s.networks.insert({ ...n, id: 'b'.repeat(64) }), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_EXISTS') && e.kind === 'AlreadyExists');
      assert.deepEqual(await s.networks.list(), [n]);
      assert.deepEqual(await s.networks.get('app_default'), n);
      const c = record('web');
      await s.insertContainer(c);
      assert.deepEqual((await s.getContainer(c.id))!.networks, [{ network: 'app_default', aliases: ['web'] }]);
      const moved = await s.updateContainer(c.id, { networks: [] });
      assert.deepEqual(moved.networks, []);
      await s.networks.delete('app_default');
      assert.equal(await s.networks.get('app_default'), undefined);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
