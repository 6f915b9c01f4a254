/**
 * What the manager keeps on disk is its owner's only, whatever the umask: the data directory (tightened if
 * it exists looser), the database with its -wal and -shm files, and each container's output directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LogStore } from '../../src/containers/log-store.ts';
import { lockDataDir, prepareDataDir } from '../../src/data-dir.ts';
import { isHearthError } from '../../src/errors.ts';
import { ContainerStore } from '../../src/store/container-store.ts';

const mode = (p: string) => statSync(p).mode & 0o7777;

describe('files of the data directory', () => {
  let dir: string;
  let umask: number;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-perm-'));
    umask = process.umask(0o022); // the usual one, under which files come out 0644 unless asked otherwise
  });
  after(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a new data directory 0700 and tightens an existing looser one', () => {
    const fresh = join(dir, 'new', 'hearth');
    assert.equal(prepareDataDir(fresh), undefined);
    assert.equal(mode(fresh), 0o700);
    const old = join(dir, 'old');
    mkdirSync(old, { mode: 0o755 });
    assert.equal(mode(old), 0o755);
    assert.equal(prepareDataDir(old), 0o755);
    assert.equal(mode(old), 0o700);
    assert.equal(prepareDataDir(old), undefined, 'nothing to say the second time');
  });

  it('creates the database, its -wal and its -shm 0600', async () => {
    const file = join(dir, 'fresh.db');
    const store = await ContainerStore.openSqlite(file);
    try {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        assert.ok(existsSync(f), `${f} exists (WAL mode)`);
        assert.equal(mode(f).toString(8), '600', f);
      }
    } finally {
      await store.close();
    }
  });

  it('tightens a database and companions an older version left 0644', async () => {
    const file = join(dir, 'old.db');
    const older = new Database(file); // as the store used to open it: 0644, and -wal, -shm while it is open
    older.pragma('journal_mode = WAL');
    older.exec('create table t (x)');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f).toString(8), '644', f);
    const store = await ContainerStore.openSqlite(file);
    try {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f).toString(8), '600', f);
    } finally {
      await store.close();
      older.close();
    }
  });

  it("keeps each container's output in a 0700 directory, in 0600 files", () => {
    const logs = new LogStore(join(dir, 'containers'), 4096);
    logs.append('c1', { stream: 'stdout', timestamp: new Date(), data: Buffer.from('secret\n') });
    logs.close();
    assert.equal(mode(join(dir, 'containers', 'c1')).toString(8), '700');
    assert.equal(mode(join(dir, 'containers', 'c1', 'output.ndjson')).toString(8), '600');
  });

  it('is used by one manager at a time: a live one holds it, a dead one or a stranger does not', async () => {
    const locked = mkdtempSync(join(tmpdir(), 'hearth-lock-'));
    const file = join(locked, 'manager.pid');
    const children: ChildProcess[] = [];
    try {
      const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      children.push(other);
      writeFileSync(file, `${other.pid}\n`);
      assert.throws(() => lockDataDir(locked), (e: unknown) => isHearthError(e, 'HEARTH_ERR_DATA_DIR_IN_USE') && String(e).includes(String(other.pid)));
      const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
      children.push(stranger);
      writeFileSync(file, `${stranger.pid}\n`);
      const release = lockDataDir(locked);
      assert.equal(readFileSync(file, 'utf8').trim(), String(process.pid), 'a pid that is no manager is taken over');
      release();
      assert.equal(existsSync(file), false);
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
      writeFileSync(file, `${other.pid}\n`);
      lockDataDir(locked)();
    } finally {
      for (const c of children) c.kill('SIGKILL');
      rmSync(locked, { recursive: true, force: true });
    }
  });
});
