/**
 * The collector's policy on the real store: which unused images `keepUnused` keeps (the most recently used
 * or pulled), what `maxBytes` removes (unused ones, oldest first, until the rest fits), and what neither
 * touches (images containers use).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageStore, type ImageUser } from '../../src/images/image-store.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('image collector policy', () => {
  let reg: TestRegistry;
  const refs: Record<string, string> = {};
  const dirs: string[] = [];

  before(async () => {
    reg = await startRegistry();
    const p = new Pusher(reg.url);
    for (const name of ['a', 'b', 'c']) {
      await pushImage(p, `policy/${name}`, 'v1', [{ entries: [{ path: name, content: randomBytes(96 * 1024) }] }]);
      refs[name] = `${reg.host}/policy/${name}:v1`;
    }
  });
  after(async () => {
    await reg?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A store holding a, b and c, pulled in that order. */
  async function storeOfThree(o: { keepUnused?: number; maxBytes?: number; users?: () => ImageUser[] }) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-policy-'));
    dirs.push(dataDir);
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (_f: object, m: string) => void warnings.push(m), error: () => {} };
    const store = new ImageStore({ dataDir, ...o, usage: async () => o.users?.() ?? [], log });
    for (const name of ['a', 'b', 'c']) await store.ensureRootfs(refs[name]!);
    return { store, warnings };
  }
  const names = async (store: ImageStore) => (await store.list()).map((i) => Object.keys(refs).find((k) => i.refs.includes(refs[k]!)));

  it('keeps the keepUnused unused images used or pulled most recently', async () => {
    const { store } = await storeOfThree({ keepUnused: 1 });
    // a container's provisioning resolves a: it is now the most recently used, though pulled first
    await store.ensureRootfs(refs.a!, { user: 'c1' });
    store.release('c1');
    const r = await store.collect();
    assert.deepEqual(r.images.map((i) => i.refs).sort(), [[refs.b], [refs.c]]);
    assert.deepEqual(await names(store), ['a']);
    assert.equal((await store.collect({ keepUnused: 0 })).images.length, 1);
    assert.deepEqual(await names(store), []);
  });

  it('over maxBytes, removes unused images oldest first until the rest fits', async () => {
    const { store } = await storeOfThree({});
    const [a, b, c] = await store.list();
    assert.equal((await store.collect()).images.length, 0, 'no limit: every image kept');
    const total = a!.bytesOnDisk + b!.bytesOnDisk + c!.bytesOnDisk;
    const r = await store.collect({ maxBytes: total - a!.bytesOnDisk });
    assert.deepEqual(r.images.map((i) => i.refs), [[refs.a]]);
    assert.ok(r.freedBytes >= a!.bytesOnDisk, `${r.freedBytes} freed, a took ${a!.bytesOnDisk}`);
    assert.deepEqual(await names(store), ['b', 'c']);
  });

  it('never removes an image a container uses, however far over maxBytes, and says so', async () => {
    const { store, warnings } = await storeOfThree({ maxBytes: 1, users: () => [{ id: 'c1', name: 'web', ref: refs.c! }] });
    const r = await store.collect();
    assert.deepEqual(r.images.map((i) => i.refs).sort(), [[refs.a], [refs.b]]);
    assert.deepEqual(await names(store), ['c']);
    assert.match(warnings.join('\n'), /over images\.maxBytes \(1\), and every image left is in use/);
  });
  it('a collection that removes nothing leaves refs.json alone; one that removes something rewrites it', async () => {
    const { store } = await storeOfThree({ users: () => [{ id: 'c1', name: 'one', ref: refs.a! }] });
    const file = path.join(store.root, 'refs.json');
    const before = fs.statSync(file).ino;
    const r = await store.collect();
    assert.deepEqual(r.images, []);
    assert.equal(fs.statSync(file).ino, before, 'not rewritten');
    await store.collect({ keepUnused: 0 });
    assert.notEqual(fs.statSync(file).ino, before, 'rewritten without the removed images');
    assert.deepEqual(await names(store), ['a']);
  });

  it('a failed open is tried again by the next call', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-open-'));
    dirs.push(dataDir);
    fs.writeFileSync(path.join(dataDir, 'images'), 'in the way');
    const store = new ImageStore({ dataDir });
    await assert.rejects(store.list());
    fs.rmSync(path.join(dataDir, 'images'));
    assert.deepEqual(await store.list(), []);
    await store.ensureRootfs(refs.a!);
    assert.equal((await store.list()).length, 1);
  });
});
