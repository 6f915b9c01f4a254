import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { ContainerStore } from '../../src/store/container-store.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { ContainerRecord } from '../../src/model/index.ts';
import { isHearthError } from '../../src/errors.ts';

function record(name: string): ContainerRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(), name, image: 'nginx:alpine', args: ['a b', 'c'], env_vars: { K: 'v' },
    volumes: [{ host_path: '/h', container_path: '/c', readonly: true }],
    port_mappings: [{ container_port: 80, host_port: 8080, protocol: 'tcp' }],
    restart_policy: 'on-failure', restart_max_retries: 5, tty: true, stdin_open: false, cpus: 0.5, memory_mib: 64, state: 'creating', desired_state: 'running',
    restart_count: 0, exit_code: null, oom_killed: true, error_message: null, vm_id: randomUUID(),
    container_id: randomBytes(32).toString('hex'), guest_ip: null, created_at: now, updated_at: now,
    started_at: null, finished_at: null, stop_signal: 'SIGQUIT', image_digest: null,
  };
}

describe('ContainerStore (SQLite)', () => {
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
      assert.deepEqual(raw.prepare('select name from kysely_migration').all(), [{ name: '0001_initial' }, { name: '0002_stop_signal' }, { name: '0003_event_exit_code' }, { name: '0004_tty_stdin_open' }, { name: '0005_image_digest' }, { name: '0006_resource_limits' }]);
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

  it('gives containers recorded before limits null cpus and memory_mib (the defaults) and oom_killed false', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const file = join(dir, 'hearth.db');
    try {
      // The schema as the version before limits left it, with one of its containers.
      const before = Object.fromEntries(Object.entries(migrations('sqlite')).filter(([name]) => name < '0006'));
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
      const { error } = await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
      assert.equal(error, undefined);
      await db.destroy();
      const { cpus: _c, memory_mib: _m, oom_killed: _o, ...old } = record('old');
      const raw = new Database(file);
      const row = { ...old, args: '[]', env_vars: '{}', volumes: '[]', port_mappings: '[]', tty: 0, stdin_open: 0 };
      raw.prepare(`insert into containers (${Object.keys(row).join(', ')}) values (${Object.keys(row).map((k) => `@${k}`).join(', ')})`).run(row);
      raw.close();
      const s = await ContainerStore.openSqlite(file);
      const c = (await s.getContainer(old.id))!;
      assert.deepEqual([c.cpus, c.memory_mib, c.oom_killed], [null, null, false]);
      const changed = await s.updateContainer(old.id, { cpus: 1.5, memory_mib: 64, oom_killed: true });
      assert.deepEqual([changed.cpus, changed.memory_mib, changed.oom_killed], [1.5, 64, true], 'a fractional cpus is kept exactly');
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
