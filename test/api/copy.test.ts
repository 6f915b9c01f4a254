/**
 * docker cp through the API with the fake sandbox's small file tree (test/containers/fakes.ts): GET a tar,
 * HEAD the stat header, PUT a tar, and the 4xx around them.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { readTar } from '../../src/images/tar.ts';
import { create, harness, waitFor, type Harness } from '../containers/harness.ts';
import { makeTar } from '../helpers/tar-writer.ts';
import { conforms } from './openapi-check.ts';

const ROUTE = '/v1/containers/{id}/archive';

async function untar(raw: Buffer): Promise<Map<string, { type: string; mode: number; body: string }>> {
  const out = new Map<string, { type: string; mode: number; body: string }>();
  await readTar(Readable.from([raw]), async (e, body) => {
    const chunks: Buffer[] = [];
    for await (const c of body.chunks()) chunks.push(c);
    out.set(e.path, { type: e.type, mode: e.mode, body: Buffer.concat(chunks).toString() });
  });
  return out;
}

const statOf = (header: unknown) => JSON.parse(Buffer.from(String(header), 'base64').toString('utf8'));

describe('copy API (archive)', () => {
  let h: Harness;
  let id: string;
  const url = (path: string) => `/v1/containers/${id}/archive?path=${encodeURIComponent(path)}`;
  const put = (path: string, payload: Buffer) =>
    h.app.inject({ method: 'PUT', url: url(path), payload, headers: { 'content-type': 'application/x-tar' } });
  before(async () => {
    h = await harness();
    id = await create(h.app, { name: 'box', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
  });
  after(() => h.close());

  it('HEAD answers the stat in X-Docker-Container-Path-Stat, as Docker encodes it', async () => {
    const res = await h.app.inject({ method: 'HEAD', url: url('/etc/hostname') });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.deepEqual(statOf(res.headers['x-docker-container-path-stat']), {
      name: 'hostname',
      size: 5,
      mode: 0o644,
      mtime: '2023-11-14T22:13:20.000Z',
      linkTarget: '',
    });
    const dir = await h.app.inject({ method: 'HEAD', url: url('/etc') });
    assert.equal(statOf(dir.headers['x-docker-container-path-stat']).mode, (2 ** 31 + 0o755), 'Go os.ModeDir');
  });

  it('GET answers a tar of a file or a directory, with the stat header', async () => {
    const res = await h.app.inject({ method: 'GET', url: url('/etc/hostname') });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-tar');
    assert.equal(statOf(res.headers['x-docker-container-path-stat']).name, 'hostname');
    assert.deepEqual([...(await untar(res.rawPayload)).entries()], [['hostname', { type: 'file', mode: 0o644, body: 'fake\n' }]]);
    const dir = await untar((await h.app.inject({ method: 'GET', url: url('etc') })).rawPayload);
    assert.deepEqual([...dir.keys()].sort(), ['etc', 'etc/hostname']);
  });

  it('PUT extracts a tar into a directory; GET reads it back', async () => {
    const tar = makeTar([
      { path: 'sub', type: 'dir', mode: 0o750 },
      { path: 'sub/new.txt', content: 'new\n', mode: 0o600 },
    ]);
    const res = await put('/tmp', tar);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {});
    const back = await untar((await h.app.inject({ method: 'GET', url: url('/tmp/sub') })).rawPayload);
    assert.deepEqual(back.get('sub/new.txt'), { type: 'file', mode: 0o600, body: 'new\n' });
    assert.equal(back.get('sub')?.mode, 0o750);
  });

  it('answers 404 for a missing path, 400 for a bad tar, a non-directory or no path', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await h.app.inject({ method, url: url('/nope') });
      assert.equal(res.statusCode, 404, method);
    }
    const missing = await h.app.inject({ method: 'GET', url: url('/nope') });
    assert.equal(missing.json().error.code, 'HEARTH_ERR_PATH_NOT_FOUND');
    assert.equal(missing.json().error.message, 'Could not find the file /nope in container');
    assert.deepEqual(await conforms(h.app, 'GET', ROUTE, missing), []);
    assert.equal((await put('/nope', makeTar([]))).statusCode, 404);
    const notDir = await put('/etc/hostname', makeTar([]));
    assert.equal(notDir.statusCode, 400);
    assert.equal(notDir.json().error.code, 'HEARTH_ERR_COPY_INVALID');
    const garbage = await put('/tmp', Buffer.alloc(1024, 'x'));
    assert.equal(garbage.statusCode, 400);
    assert.equal(garbage.json().error.code, 'HEARTH_ERR_COPY_INVALID');
    assert.deepEqual(await conforms(h.app, 'PUT', ROUTE, garbage), []);
    const noPath = await h.app.inject({ method: 'GET', url: `/v1/containers/${id}/archive` });
    assert.equal(noPath.statusCode, 400);
    const nul = await h.app.inject({ method: 'GET', url: url('/a\u0000b') });
    assert.equal(nul.statusCode, 400);
  });

  it('refuses a tar over the size cap from its Content-Length, before reading it', async () => {
    const res = await h.app.inject({
      method: 'PUT',
      url: url('/tmp'),
      payload: makeTar([]),
      headers: { 'content-type': 'application/x-tar', 'content-length': String(5 * 1024 ** 3) },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'HEARTH_ERR_ARCHIVE_TOO_LARGE');
  });

  it('answers 409 unless the container runs, and 404 for an unknown one', async () => {
    const stopped = await create(h.app, { name: 'stopped', image: 'sleeper:1' });
    await waitFor(h.app, stopped, 'running');
    assert.equal((await h.app.inject({ method: 'POST', url: `/v1/containers/${stopped}/stop?timeout=0` })).statusCode, 200);
    const res = await h.app.inject({ method: 'GET', url: `/v1/containers/${stopped}/archive?path=/etc` });
    assert.equal(res.statusCode, 409);
    assert.match(res.json().error.message, /needs it running \(its root filesystem lives in its VM\)/);
    const put409 = await h.app.inject({ method: 'PUT', url: `/v1/containers/${stopped}/archive?path=/tmp`, payload: makeTar([]), headers: { 'content-type': 'application/x-tar' } });
    assert.equal(put409.statusCode, 409);
    assert.equal((await h.app.inject({ method: 'HEAD', url: '/v1/containers/nope/archive?path=/' })).statusCode, 404);
  });
});
