/**
 * Volumes in real VMs, at the sandbox level: an ext4 volume disk whose first use copies the image's
 * directory in (content, owner, mode), read back read-only by a second VM; host directories shared over
 * virtio-fs both ways, read-only ones refused on the host even after the guest remounts them read-write;
 * and nothing of the shares (virtiofsd processes) outliving the VMs.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ScratchDisks } from '../../src/sandbox/scratch-disk.ts';
import { SHARE_TAG } from '../../src/vmm/qemu/file-shares.ts';
import { processesTagged } from '../../src/vmm/process.ts';
import { runToExit } from '../helpers/run-vm.ts';
import { seededImage } from '../helpers/test-images.ts';
import { vmSuite } from '../helpers/vm-env.ts';

const sh = (script: string) => ({ config: { cmd: ['/bin/sh', '-c', script] } });
const suite = vmSuite();

describe('volumes in a microVM', () => {
  it("copies the image's directory into a new volume disk, keeps what is written, and mounts it read-only elsewhere", async () => {
    const image = await seededImage();
    const disk = path.join(suite.env.dir, 'volume.ext4');
    await new ScratchDisks(path.join(suite.env.dir, 'templates')).create(disk, 64);
    const first = await runToExit(suite.env, {
      image,
      ...sh('stat -c "%u:%g %a" /srv/seed /srv/seed/hello; cat /srv/seed/hello /srv/seed/sub/deep; readlink /srv/seed/link; ls -a /srv/seed; echo kept > /srv/seed/new; sync'),
      volumes: [{ kind: 'disk', path: disk, target: '/srv/seed', readOnly: false, copyUp: true }],
    });
    assert.equal(first.exit?.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      '1500:1500 750\n1500:1500 600\nseeded by the image\ndeep\nhello\n.\n..\nhello\nlink\nsub\n',
      'the content, owner and mode of the image directory, and no lost+found',
    );

    const second = await runToExit(suite.env, {
      image,
      ...sh('cat /srv/seed/new; ls /srv/seed/lost+found 2>&1; echo x > /srv/seed/other; mount -o remount,rw /srv/seed; echo $?'),
      volumes: [{ kind: 'disk', path: disk, target: '/srv/seed', readOnly: true, copyUp: false }],
    });
    assert.equal(second.stdout.split('\n')[0], 'kept');
    assert.match(second.stderr, /can't create \/srv\/seed\/other: Read-only file system/);
    assert.match(second.stdout, /\n[1-9]\d*\n$/, 'the read-only drive cannot be remounted read-write');

    const freshDisk = path.join(suite.env.dir, 'fresh.ext4');
    await new ScratchDisks(path.join(suite.env.dir, 'templates')).create(freshDisk, 64);
    const fresh = await runToExit(suite.env, {
      image,
      ...sh('stat -c "%u:%g %a" /new/dir; ls -a /new/dir'),
      volumes: [{ kind: 'disk', path: freshDisk, target: '/new/dir', readOnly: false, copyUp: true }],
    });
    assert.equal(fresh.stdout, '0:0 755\n.\n..\n', 'a mount point the image lacks is made, as Docker makes it');
  });

  it('shares host directories both ways, and a read-only one stays read-only on the host', async () => {
    const image = await seededImage();
    const rw = path.join(suite.env.dir, 'shared');
    const ro = path.join(suite.env.dir, 'shared-ro');
    await mkdir(rw);
    await mkdir(ro);
    await writeFile(path.join(rw, 'from-host'), 'host wrote this\n');
    await writeFile(path.join(rw, 'private'), 'root only\n', { mode: 0o600 });
    await writeFile(path.join(ro, 'readable'), 'read me\n');
    const r = await runToExit(suite.env, {
      image,
      ...sh(
        'cat /mnt/rw/from-host /mnt/rw/private /mnt/ro/readable; echo guest wrote this > /mnt/rw/from-guest; ' +
          'echo no > /mnt/ro/refused; mount -o remount,rw /mnt/ro && echo no > /mnt/ro/after-remount; true',
      ),
      volumes: [
        { kind: 'host', path: rw, target: '/mnt/rw', readOnly: false },
        { kind: 'host', path: ro, target: '/mnt/ro', readOnly: true },
      ],
    });
    assert.equal(r.stdout, 'host wrote this\nroot only\nread me\n');
    assert.match(r.stderr, /can't create \/mnt\/ro\/refused: Read-only file system/);
    assert.match(r.stderr, /can't create \/mnt\/ro\/after-remount: Read-only file system/, 'the host refuses, whatever the guest mounts');
    assert.equal(await readFile(path.join(rw, 'from-guest'), 'utf8'), 'guest wrote this\n');
    assert.equal((await stat(path.join(rw, 'from-guest'))).uid, 0, "written as the guest's user (root)");
    await assert.rejects(stat(path.join(ro, 'after-remount')));
    assert.deepEqual(await processesTagged(SHARE_TAG, suite.env.dir), [], 'no virtiofsd left');
    await rm(rw, { recursive: true });
    await rm(ro, { recursive: true });
  });
});
