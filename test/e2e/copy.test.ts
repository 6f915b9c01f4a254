/**
 * docker cp through the real manager and a real VM: a tar PUT into a running container and read back with
 * GET byte-exact (a file, a directory with modes, a symlink), the stat header of HEAD, and a tar entry that
 * tries to climb out landing inside the destination.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { readTar } from '../../src/images/tar.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { makeTar } from '../helpers/tar-writer.ts';

await enterTestNetns(import.meta.url);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('docker cp, end to end', () => {
  let world: E2eEnv;
  let id: string;
  before(async () => {
    world = await e2eEnv();
    id = await world.api.create({ name: 'copied', image: 'busybox:latest', args: ['sleep', '600'] });
    await world.api.waitFor(id, ['running']);
  });
  after(async () => {
    await world?.close();
  });

  it('puts a tree in and gets it back byte-exact, with its stat; an escaping entry stays inside', async () => {
    const content = randomBytes(3 << 20);
    const tar = makeTar([
      { path: 'in', type: 'dir', mode: 0o750 },
      { path: 'in/data.bin', content, mode: 0o640 },
      { path: 'in/link', type: 'symlink', linkname: 'data.bin' },
      { path: '../../escaped', content: 'climbed\n' },
    ]);
    const put = await fetch(`${world.api.url}/v1/containers/${id}/archive?path=/srv`, { method: 'PUT', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(tar) });
    assert.equal(put.status, 404, 'the destination must exist');
    assert.equal(put.headers.get('connection'), 'close', 'the unread tar does not poison the next request on the connection');
    await (await exec(world, id, ['mkdir', '-p', '/srv'])).done;
    const put2 = await fetch(`${world.api.url}/v1/containers/${id}/archive?path=/srv`, { method: 'PUT', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(tar) });
    assert.equal(put2.status, 200, await put2.text());

    const head = await fetch(`${world.api.url}/v1/containers/${id}/archive?path=/srv/in/data.bin`, { method: 'HEAD' });
    const stat = JSON.parse(Buffer.from(head.headers.get('x-docker-container-path-stat')!, 'base64').toString());
    assert.deepEqual([stat.name, stat.size, stat.mode & 0o777], ['data.bin', content.length, 0o640]);

    const got = await fetch(`${world.api.url}/v1/containers/${id}/archive?path=/srv/in`);
    assert.equal(got.headers.get('content-type'), 'application/x-tar');
    const seen = new Map<string, { mode: number; linkname: string; sha: string }>();
    await readTar(Readable.fromWeb(got.body as never), async (e, body) => {
      const parts: Buffer[] = [];
      for await (const c of body.chunks()) parts.push(Buffer.from(c));
      seen.set(e.path.replace(/\/$/, ''), { mode: e.mode & 0o7777, linkname: e.linkname ?? '', sha: sha(Buffer.concat(parts)) });
    });
    assert.equal(seen.get('in')?.mode, 0o750);
    assert.equal(seen.get('in/data.bin')?.sha, sha(content));
    assert.equal(seen.get('in/link')?.linkname, 'data.bin');

    const where = await (await exec(world, id, ['sh', '-c', 'cat /srv/escaped; ls /escaped 2>&1; true'])).done;
    assert.equal(where, 'climbed\nls: /escaped: No such file or directory\n', 'the climbing entry landed inside /srv');
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

async function exec(world: E2eEnv, id: string, cmd: string[]): Promise<{ done: Promise<string> }> {
  const created = await world.api.call('POST', `/v1/containers/${id}/exec`, { cmd });
  assert.equal(created.status, 201, created.text);
  return {
    done: world.api.call('POST', `/v1/exec/${created.body.id}/start`, { detach: false }).then((r) => {
      assert.equal(r.body.exit_code, 0, r.text);
      return r.body.output.stdout as string;
    }),
  };
}
