/** The tar reader and layer application, without a registry. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { RootfsBuilder } from '../../src/images/layer-apply.ts';
import { readTar, type TarEntry } from '../../src/images/tar.ts';
import { readDirTree } from '../helpers/disk-tree.ts';
import { makeTar } from '../helpers/tar-writer.ts';

async function* chunks(b: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

it('reads pax and GNU long names, base-256-free headers and archives without an end marker', async () => {
  const long = `x/${'n'.repeat(150)}`;
  for (const opts of [{}, { gnuLongNames: true }, { endMarker: false }]) {
    const tar = makeTar([{ path: long, content: 'hello' }, { path: 'd', type: 'dir', mode: 0o1777 }, { path: 'l', type: 'symlink', linkname: '../x' }], opts);
    const seen: TarEntry[] = [];
    const bodies: string[] = [];
    await readTar(chunks(tar), async (e, body) => {
      seen.push(e);
      let s = '';
      for await (const c of body.chunks()) s += c.toString();
      bodies.push(s);
    });
    assert.deepEqual(seen.map((e) => [e.path, e.type, e.mode]), [[long, 'file', 0o644], ['d', 'dir', 0o1777], ['l', 'symlink', 0o644]]);
    assert.equal(bodies[0], 'hello');
    assert.equal(seen[2]!.linkname, '../x');
  }
});

it('refuses entries that escape the root and corrupt headers', async () => {
  await assert.rejects(() => readTar(chunks(makeTar([{ path: '../evil', content: 'x' }])), async () => {}), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_LAYER_INVALID'));
  const bad = makeTar([{ path: 'a', content: 'x' }]);
  bad[10] = 0x41;
  await assert.rejects(() => readTar(chunks(bad), async () => {}), /checksum/);
});

it('keeps writes through a symlink inside the root', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-apply-'));
  try {
    const b = new RootfsBuilder(path.join(root, 'fs'));
    await b.applyLayer(chunks(makeTar([{ path: 'escape', type: 'symlink', linkname: '/../../../../tmp' }, { path: 'up', type: 'symlink', linkname: '../..' }])));
    await b.applyLayer(chunks(makeTar([{ path: 'escape/pwned', content: 'x' }, { path: 'up/pwned2', content: 'y' }])));
    b.finish();
    const tree = readDirTree(b.root);
    assert.equal(tree.get('/tmp/pwned')?.content, 'x');
    assert.equal(tree.get('/pwned2')?.content, 'y');
    assert.ok(!fs.existsSync('/tmp/pwned'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

it('refuses pax size, uid, gid and mtime values that are not numbers of the right kind, in x and g headers', async () => {
  // a fractional size once made the body stream yield empty chunks forever; the reader counts them to fail, not hang
  const read = (tar: Buffer): Promise<void> =>
    readTar(chunks(tar), async (_e, body) => {
      let empty = 0;
      for await (const c of body.chunks()) if (c.length === 0 && ++empty > 1000) throw new Error('the body stream loops on empty chunks');
    });
  const bad: [string, string][] = [['size', '1.5'], ['size', '-1'], ['size', '1e3'], ['uid', '1.5'], ['gid', '-2'], ['uid', '9007199254740993'], ['mtime', 'soon']];
  for (const [key, value] of bad) {
    for (const where of ['x', 'g'] as const) {
      const entry = { path: 'f', content: 'ab', ...(where === 'x' ? { pax: { [key]: value } } : {}) };
      const tar = makeTar([entry], where === 'g' ? { globalPax: { [key]: value } } : {});
      await assert.rejects(read(tar), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_LAYER_INVALID') && e.message.includes(`pax ${key}`), `${where} ${key}=${value}`);
    }
  }
  // well-formed values still apply, a fractional mtime included; an empty value means the header's (POSIX)
  const seen: TarEntry[] = [];
  const good = makeTar([{ path: 'f', content: 'abc', pax: { size: '3', uid: '70000', gid: '70001', mtime: '1700000000.25' } }, { path: 'g', content: 'de', pax: { size: '' } }]);
  await readTar(chunks(good), async (e) => void seen.push(e));
  assert.deepEqual(seen.map((e) => [e.size, e.uid, e.gid, e.mtime]), [[3, 70000, 70001, 1700000000.25], [2, 0, 0, 1_700_000_000]]);
});

it('refuses whiteouts that name no entry: .wh., .wh.. and .wh...', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-apply-'));
  try {
    fs.writeFileSync(path.join(work, 'sentinel'), 'outside the root');
    const b = new RootfsBuilder(path.join(work, 'rootfs'));
    await b.applyLayer(chunks(makeTar([{ path: 'etc/passwd', content: 'x' }])));
    for (const wh of ['.wh.', '.wh..', '.wh...', 'etc/.wh.', 'etc/.wh..', 'etc/.wh...']) {
      await assert.rejects(b.applyLayer(chunks(makeTar([{ path: wh }]))), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_LAYER_INVALID'), wh);
      assert.ok(fs.existsSync(path.join(work, 'sentinel')), `${wh} left the work directory alone`);
      assert.ok(fs.existsSync(path.join(b.root, 'etc/passwd')), `${wh} left the root alone`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
