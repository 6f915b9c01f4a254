/**
 * Volumes through the real `docker` CLI against a real manager: create (again: the same volume), ls with
 * filters and --format, inspect --format, rm (a missing one, a used one), prune; a named volume written by
 * one container and read by the next; and the same volumes from /v1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

describe('Docker API: volumes with the docker CLI', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('creates, lists, inspects and removes volumes', async () => {
    assert.equal(await world.docker.ok(['volume', 'create', '--label', 'team=db', '--opt', 'size=64m', 'pgdata']), 'pgdata\n');
    assert.equal(await world.docker.ok(['volume', 'create', 'pgdata']), 'pgdata\n', 'a name that exists is that volume');
    const anonymous = (await world.docker.ok(['volume', 'create'])).trim();
    assert.match(anonymous, /^[0-9a-f]{64}$/);
    const listed = (await world.docker.ok(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}'])).trim().split('\n').sort();
    assert.deepEqual(listed, [`local ${anonymous}`, 'local pgdata'].sort());
    assert.equal((await world.docker.ok(['volume', 'ls', '-q', '--filter', 'label=team=db'])).trim(), 'pgdata');
    assert.equal((await world.docker.ok(['volume', 'ls', '-q', '--filter', 'name=pgd'])).trim(), 'pgdata');
    const fields = await world.docker.ok(['volume', 'inspect', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels.team}} {{.Options.size}} {{.Mountpoint}}', 'pgdata']);
    assert.equal(fields.trim(), `pgdata local local db 64m ${world.dataDir}/volumes/pgdata.ext4`);
    const v1 = await world.api.call('GET', '/v1/volumes/pgdata');
    assert.deepEqual([v1.status, v1.body.item.size_mib, v1.body.item.labels], [200, 64, { team: 'db' }], 'the same volume through /v1');

    const refused = await world.docker.run(['volume', 'create', '--driver', 'nfs', 'x']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /volume driver nfs is not supported by Hearth/);
    const badOpt = await world.docker.run(['volume', 'create', '--opt', 'type=tmpfs', 'y']);
    assert.match(badOpt.stderr, /volume option type is not supported by Hearth/);
    const missing = await world.docker.run(['volume', 'inspect', 'nothing']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such volume/);

    assert.equal(await world.docker.ok(['volume', 'rm', anonymous]), `${anonymous}\n`);
    const gone = await world.docker.run(['volume', 'rm', anonymous]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no such volume/);
    await world.docker.ok(['volume', 'rm', '-f', anonymous]);
  });

  it('keeps what one container wrote in a named volume for the next (docker run -v name:/path), made on first use', async () => {
    await world.docker.ok(['run', '--rm', '-v', 'notes:/data', 'busybox', 'sh', '-c', 'echo kept > /data/note && sync']);
    assert.equal(await world.docker.ok(['run', '--rm', '-v', 'notes:/data:ro', 'busybox', 'cat', '/data/note']), 'kept\n');
    assert.equal(await world.docker.ok(['run', '--rm', '--mount', 'type=volume,source=notes,target=/mnt', 'busybox', 'cat', '/mnt/note']), 'kept\n');
    const fields = await world.docker.ok(['volume', 'inspect', '--format', '{{.Name}} {{.Driver}}', 'notes']);
    assert.equal(fields, 'notes local\n', 'made by the first run');
    const id = (await world.docker.ok(['create', '-v', 'notes:/data', 'busybox', 'true'])).trim();
    const mount = await world.docker.ok(['inspect', '--format', '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}', id]);
    assert.equal(mount, 'volume notes /data true\n');
    await world.docker.ok(['rm', id]);
    await world.docker.ok(['volume', 'rm', 'notes']);
  });

  it('refuses to remove a volume a container uses, naming it; prune --all removes the unused ones', async () => {
    const id = await world.api.create({ name: 'holder', image: 'busybox', args: ['sleep', '600'], volumes: [{ name: 'pgdata', container_path: '/data' }] });
    const used = await world.docker.run(['volume', 'rm', 'pgdata']);
    assert.equal(used.code, 1);
    assert.match(used.stderr, /volume is in use - \[/);
    assert.match(used.stderr, /holder/);
    await world.docker.ok(['volume', 'create', 'spare']);
    assert.match(await world.docker.ok(['volume', 'prune', '-f']), /Total reclaimed space/);
    assert.deepEqual((await world.docker.ok(['volume', 'ls', '-q'])).trim().split('\n').sort(), ['pgdata', 'spare'], 'without --all only anonymous volumes go');
    const pruned = await world.docker.ok(['volume', 'prune', '--all', '-f']);
    assert.match(pruned, /^spare$/m);
    assert.equal((await world.docker.ok(['volume', 'ls', '-q'])).trim(), 'pgdata');
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await world.docker.ok(['volume', 'rm', 'pgdata']);
    assert.equal((await world.docker.ok(['volume', 'ls', '-q'])).trim(), '');
  });
});
