/**
 * Volumes through the real manager and real VMs: a named volume written by one container and read by the next
 * after the first is deleted; two containers reading one volume read-only at once while a writer is refused
 * (409); a volume in use refused deletion (409); nothing lost by a kill -9 of the VMM after `sync`; an
 * anonymous volume for the image's VOLUME, filled from the image and deleted with its container; host
 * directories both ways, read-only enforced by the host, and paths that escape the allowed root refused (400).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { busyboxEntries } from '../helpers/app-images.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';

await enterTestNetns(import.meta.url);

const SLEEP = ['sleep', '600'];

describe('volumes, end to end', () => {
  let world: E2eEnv;
  let roots: string;
  before(async () => {
    roots = path.join(process.env.TMPDIR ?? '/tmp', `hearth-volume-roots-${process.pid}`);
    await mkdir(path.join(roots, 'allowed'), { recursive: true });
    world = await e2eEnv({ HEARTH_VOLUME_HOST_ROOTS: path.join(roots, 'allowed'), HEARTH_VOLUME_SIZE_MIB: '256' }, async (registry) => {
      // `VOLUME /srv/seed`, holding svc's 0750 directory with a file: what an anonymous volume starts with.
      await pushImage(
        new Pusher(registry.url),
        'library/volumed',
        'latest',
        [
          { entries: busyboxEntries() },
          {
            entries: [
              { path: 'srv/', type: 'dir' },
              { path: 'srv/seed/', type: 'dir', mode: 0o750, uid: 1500, gid: 1500 },
              { path: 'srv/seed/hello', content: 'from the image\n', mode: 0o640, uid: 1500, gid: 1500 },
            ],
          },
        ],
        { config: { Cmd: SLEEP, Volumes: { '/srv/seed': {} } } },
      );
      return {};
    });
  });
  after(async () => {
    await world?.close();
    await rm(roots, { recursive: true, force: true });
  });

  it('keeps a named volume after its container goes; two read it read-only at once; a writer and a delete in use are 409', async () => {
    const made = await world.api.call('POST', '/v1/volumes', { name: 'shared', size_mib: 128, labels: { purpose: 'test' } });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual([made.body.item.size_mib, made.body.item.labels, made.body.item.containers], [128, { purpose: 'test' }, []]);
    assert.equal((await world.api.call('POST', '/v1/volumes', { name: 'shared' })).body.error.code, 'HEARTH_ERR_VOLUME_EXISTS');

    const writer = await world.api.create({ name: 'writer', image: 'busybox:latest', args: SLEEP, volumes: [{ name: 'shared', container_path: '/data' }] });
    await world.api.waitFor(writer, ['running']);
    // Written without a sync: the delete ends the VM through its agent, which writes it back first.
    assert.equal((await exec(world, writer, ['sh', '-c', 'echo from the writer > /data/file'])).code, 0);

    const reader = await world.api.call('POST', '/v1/containers', { name: 'early', image: 'busybox:latest', args: SLEEP, volumes: [{ name: 'shared', container_path: '/data', readonly: true }] });
    assert.equal(reader.status, 409, reader.text);
    assert.equal(reader.body.error.code, 'HEARTH_ERR_VOLUME_IN_USE');
    assert.match(reader.body.error.message, /mounted read-write by container writer .*not a cluster filesystem/);
    const inUse = await world.api.call('DELETE', '/v1/volumes/shared');
    assert.equal(inUse.status, 409, inUse.text);
    assert.match(inUse.body.error.message, /in use by container writer/);

    assert.equal((await world.api.call('DELETE', `/v1/containers/${writer}`)).status, 204);
    const readers = await Promise.all(
      ['r1', 'r2'].map((name) => world.api.create({ name, image: 'busybox:latest', args: SLEEP, volumes: [{ name: 'shared', container_path: '/data', readonly: true }] })),
    );
    await Promise.all(readers.map((id) => world.api.waitFor(id, ['running'])));
    for (const id of readers) {
      assert.deepEqual(await exec(world, id, ['cat', '/data/file']), { code: 0, stdout: 'from the writer\n', stderr: '' });
      const refused = await exec(world, id, ['sh', '-c', 'echo no > /data/other']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Read-only file system/);
    }
    const writerAgain = await world.api.call('POST', '/v1/containers', { name: 'late', image: 'busybox:latest', args: SLEEP, volumes: [{ name: 'shared', container_path: '/data' }] });
    assert.equal(writerAgain.status, 409, 'no writer beside readers');
    const item = (await world.api.call('GET', '/v1/volumes/shared')).body.item;
    assert.deepEqual(item.containers.map((c: any) => [c.name, c.readonly]).sort(), [['r1', true], ['r2', true]]);
    assert.ok(item.used_bytes > 0 && item.used_bytes < 1 << 20, `used_bytes ${item.used_bytes}`);

    for (const id of readers) assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    assert.equal((await world.api.call('DELETE', '/v1/volumes/shared')).status, 204);
    assert.equal((await world.api.call('GET', '/v1/volumes/shared')).status, 404);
    await assertNoLeaks(world);
  });

  it('loses nothing synced before a kill -9 of the VMM', async () => {
    const id = await world.api.create({ name: 'durable', image: 'busybox:latest', args: SLEEP, volumes: [{ name: 'durable', container_path: '/data' }] });
    const running = await world.api.waitFor(id, ['running']);
    const wrote = await exec(world, id, ['sh', '-c', 'head -c 3000000 /dev/urandom > /data/blob && sync && md5sum /data/blob']);
    assert.equal(wrote.code, 0, wrote.stderr);
    const vm = (await world.api.call('GET', `/v1/vms/${running.container_runtime_id}`)).body.item;
    process.kill(vm.pid, 'SIGKILL');
    await world.api.waitFor(id, ['error', 'exited']);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    // Read-only: the host replays the journal the killed VM left before the reader's VM attaches the disk.
    const reader = await world.api.create({ name: 'after-kill', image: 'busybox:latest', args: SLEEP, volumes: [{ name: 'durable', container_path: '/data', readonly: true }] });
    await world.api.waitFor(reader, ['running']);
    assert.equal((await exec(world, reader, ['md5sum', '/data/blob'])).stdout, wrote.stdout);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${reader}`)).status, 204);
    assert.equal((await world.api.call('DELETE', '/v1/volumes/durable')).status, 204);
    await assertNoLeaks(world);
  });

  it("gives the image's VOLUME an anonymous volume filled from the image, deleted with its container", async () => {
    const id = await world.api.create({ name: 'anon', image: 'volumed:latest' });
    await world.api.waitFor(id, ['running']);
    const seen = await exec(world, id, ['sh', '-c', 'stat -c "%u:%g %a" /srv/seed; cat /srv/seed/hello; grep " /srv/seed " /proc/mounts | cut -d" " -f3']);
    assert.equal(seen.stdout, '1500:1500 750\nfrom the image\next4\n');
    const volumes = (await world.api.call('GET', '/v1/volumes')).body.items;
    assert.equal(volumes.length, 1);
    assert.deepEqual([volumes[0].anonymous, volumes[0].anonymous_for, volumes[0].initialized, volumes[0].containers[0].container_path], [true, id, true, '/srv/seed']);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    assert.deepEqual((await world.api.call('GET', '/v1/volumes')).body.items, []);
    await assertNoLeaks(world);
  });

  it('shares host directories both ways, enforces readonly on the host, and refuses paths that escape the allowed root', async () => {
    const allowed = path.join(roots, 'allowed');
    const rw = path.join(allowed, 'rw');
    const ro = path.join(allowed, 'ro');
    await mkdir(rw);
    await mkdir(ro);
    await writeFile(path.join(rw, 'from-host'), 'written on the host\n');
    const id = await world.api.create({
      name: 'shares',
      image: 'busybox:latest',
      args: SLEEP,
      volumes: [
        { host_path: rw, container_path: '/mnt/rw' },
        { host_path: `${ro}/`, container_path: '/mnt/ro', readonly: true },
      ],
    });
    await world.api.waitFor(id, ['running']);
    assert.equal((await exec(world, id, ['cat', '/mnt/rw/from-host'])).stdout, 'written on the host\n');
    assert.equal((await exec(world, id, ['sh', '-c', 'echo written in the guest > /mnt/rw/from-guest'])).code, 0);
    assert.equal(await readFile(path.join(rw, 'from-guest'), 'utf8'), 'written in the guest\n');
    // Privileged (SYS_ADMIN in the guest): the remount itself succeeds there; the host still refuses the write.
    const refused = await exec(world, id, ['sh', '-c', 'echo no > /mnt/ro/plain; mount -o remount,rw /mnt/ro && echo remounted; echo no > /mnt/ro/remounted'], true);
    assert.match(refused.stdout, /^remounted$/m);
    assert.match(refused.stderr, /can't create \/mnt\/ro\/plain: Read-only file system/);
    assert.match(refused.stderr, /can't create \/mnt\/ro\/remounted: Read-only file system/, 'the host refuses even after a remount in the guest');
    assert.deepEqual(await readdir(ro), []);

    await symlink('/etc', path.join(allowed, 'escape'));
    await mkdir(path.join(roots, 'outside'), { recursive: true });
    for (const [hostPath, why] of [
      [`${allowed}/../outside`, /outside the host directories containers may mount/],
      [path.join(allowed, 'escape'), /resolves to \/etc/],
      ['/etc', /outside the host directories/],
      [path.join(allowed, 'missing'), /does not exist/],
    ] as const) {
      const r = await world.api.call('POST', '/v1/containers', { name: 'refused', image: 'busybox:latest', volumes: [{ host_path: hostPath, container_path: '/x' }] });
      assert.equal(r.status, 400, `${hostPath}: ${r.text}`);
      assert.deepEqual([r.body.error.code, r.body.error.field], ['HEARTH_ERR_HOST_PATH', 'body/volumes/0/host_path']);
      assert.match(r.body.error.message, why);
    }
    const relative = await world.api.call('POST', '/v1/containers', { name: 'refused', image: 'busybox:latest', volumes: [{ host_path: 'relative/dir', container_path: '/x' }] });
    assert.deepEqual([relative.status, relative.body.error.field], [400, 'body/volumes/0/host_path']);
    const both = await world.api.call('POST', '/v1/containers', { name: 'refused', image: 'busybox:latest', volumes: [{ name: 'v1', host_path: rw, container_path: '/x' }] });
    assert.deepEqual([both.status, both.body.error.field], [400, 'body/volumes/0']);

    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    assert.equal((await stat(path.join(rw, 'from-guest'))).size > 0, true, 'the host keeps what the guest wrote');
    await assertNoLeaks(world);
  });
});

async function exec(world: E2eEnv, id: string, cmd: string[], privileged = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const created = await world.api.call('POST', `/v1/containers/${id}/exec`, { cmd, ...(privileged ? { privileged } : {}) });
  assert.equal(created.status, 201, created.text);
  const r = await world.api.call('POST', `/v1/exec/${created.body.id}/start`, { detach: false });
  assert.equal(r.status, 200, r.text);
  return { code: r.body.exit_code, stdout: r.body.output.stdout, stderr: r.body.output.stderr };
}
