import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ContainerStore } from '../../src/store/container-store.ts';
import type { ContainerRecord } from '../../src/model/index.ts';
import { isHearthError } from '../../src/errors.ts';

function record(name: string): ContainerRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(), name, image: 'nginx:alpine', args: ['a b', 'c'], env_vars: { K: 'v' },
    volumes: [{ name: null, host_path: '/h', container_path: '/c', readonly: true }],
    port_mappings: [{ container_port: 80, host_port: 8080, protocol: 'tcp' }],
    restart_policy: 'on-failure', restart_max_retries: 5, tty: true, stdin_open: false, state: 'creating', desired_state: 'running',
    restart_count: 0, exit_code: null, error_message: null, vm_id: randomUUID(),
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
      assert.deepEqual(raw.prepare('select name from kysely_migration').all(), [{ name: '0001_initial' }, { name: '0002_stop_signal' }, { name: '0003_event_exit_code' }, { name: '0004_tty_stdin_open' }, { name: '0005_image_digest' }, { name: '0006_volumes' }]);
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

  it('keeps volumes: a taken name refused, labels and flags round-trip, anonymous ones found by container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
    const s = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
    try {
      const now = new Date().toISOString();
      const named = { name: 'pgdata', size_mib: 512, labels: { team: 'db' }, anonymous_for: null, anonymous_path: null, initialized: false, created_at: now };
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
});
