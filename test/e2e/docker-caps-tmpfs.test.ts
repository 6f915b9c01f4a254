/**
 * Capabilities and tmpfs mounts end to end, through the real `docker` CLI and /v1 against a real manager and
 * VMs: Docker's default capability set (CapEff 00000000a80425fb), `--cap-add` and `--cap-drop` deciding what
 * a root process may do, `--privileged` and `docker exec --privileged` giving every capability of the guest's
 * kernel (6.1: 41 of them), a non-root user none; `--tmpfs` and `--mount type=tmpfs` mounted with Docker's
 * defaults and their size, full at their size, and empty again after a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoLeaks, e2eEnv, pullThroughV1 } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

const DOCKER_DEFAULT = '00000000a80425fb';
/** CAP_CHOWN to CAP_CHECKPOINT_RESTORE: all the guest's 6.1 kernel has. */
const ALL_OF_THE_GUEST = '000001ffffffffff';
const NONE = '0000000000000000';

/** The Cap* lines of /proc/self/status as a map: CapEff -> hex. */
function caps(status: string): Record<string, string> {
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map((m) => [m[1], m[2]]));
}

/** What a root shell may do: set lo's MTU (CAP_NET_ADMIN) and give /tmp away (CAP_CHOWN). */
const PROBE = 'grep Cap /proc/self/status; ip link set lo mtu 1400 && echo mtu-ok; chown 1 /tmp && echo chown-ok; true';

describe('capabilities and tmpfs through Hearth', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
    await pullThroughV1(world, ['busybox:latest']);
  });
  after(async () => {
    await world?.close();
  });

  it("runs a container with Docker's default set; exec shares it, --privileged exec has all, a non-root exec none", async () => {
    const tmpfs = ['--tmpfs', '/scratch:size=1m', '--tmpfs', '/run:rw,size=64m,mode=1777', '--mount', 'type=tmpfs,target=/m,tmpfs-size=2097152,tmpfs-mode=1770'];
    await world.docker.ok(['run', '-d', '--name', 'plain', ...tmpfs, 'busybox', 'sleep', '600']);

    const main = caps(await world.docker.ok(['exec', 'plain', 'sh', '-c', 'cat /proc/$(pidof sleep)/status']));
    assert.deepEqual([main.CapEff, main.CapPrm, main.CapBnd, main.CapInh, main.CapAmb], [DOCKER_DEFAULT, DOCKER_DEFAULT, DOCKER_DEFAULT, NONE, NONE], 'the main process');
    const probe = await world.docker.run(['exec', 'plain', 'sh', '-c', PROBE]);
    assert.equal(caps(probe.stdout).CapEff, DOCKER_DEFAULT);
    assert.doesNotMatch(probe.stdout, /mtu-ok/, 'NET_ADMIN is not in the default set');
    assert.match(probe.stderr, /Operation not permitted/);
    assert.match(probe.stdout, /chown-ok/, 'CHOWN is');

    const privileged = await world.docker.run(['exec', '--privileged', 'plain', 'sh', '-c', PROBE]);
    assert.deepEqual([caps(privileged.stdout).CapEff, caps(privileged.stdout).CapBnd], [ALL_OF_THE_GUEST, ALL_OF_THE_GUEST]);
    assert.match(privileged.stdout, /mtu-ok/);
    const user = caps(await world.docker.ok(['exec', '-u', '1000', 'plain', 'grep', 'Cap', '/proc/self/status']));
    assert.deepEqual([user.CapEff, user.CapPrm, user.CapBnd], [NONE, NONE, DOCKER_DEFAULT], 'a non-root user has none effective, as Docker');
  });

  it('mounts --tmpfs and --mount type=tmpfs with their options and noexec, full at their size, empty after a restart', async () => {
    const mounts = await world.docker.ok(['exec', 'plain', 'grep', 'tmpfs', '/proc/mounts']);
    const line = (path: string) => mounts.split('\n').find((l) => l.split(' ')[1] === path) ?? `no mount at ${path} in:\n${mounts}`;
    assert.match(line('/scratch'), /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k /);
    assert.match(line('/run'), /^tmpfs \/run tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k /);
    assert.match(line('/m'), /^tmpfs \/m tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770 /);
    const noexec = await world.docker.run(['exec', 'plain', 'sh', '-c', 'cp /bin/busybox /run/bb && /run/bb true']);
    assert.equal(noexec.code, 126, `a program on a noexec tmpfs does not run: ${noexec.stderr}`);
    assert.match(noexec.stderr, /Permission denied/);
    const full = await world.docker.run(['exec', 'plain', 'dd', 'if=/dev/zero', 'of=/scratch/big', 'bs=1024', 'count=2048']);
    assert.notEqual(full.code, 0, full.stderr);
    assert.match(full.stderr, /No space left on device/);
    const inspect = await world.docker.ok(['inspect', '--format', '{{json .HostConfig.Tmpfs}} {{.HostConfig.Privileged}}', 'plain']);
    assert.equal(inspect, '{"/m":"mode=1770,size=2m","/run":"rw,size=64m,mode=1777","/scratch":"size=1m"} false\n');

    await world.docker.ok(['exec', 'plain', 'sh', '-c', 'rm /scratch/big && echo x > /scratch/kept && touch /run/kept']);
    await world.docker.ok(['restart', '-t', '1', 'plain']);
    assert.equal(await world.docker.ok(['exec', 'plain', 'sh', '-c', 'ls -A /scratch && ls -A /run']), '', 'new tmpfs mounts');
    await world.docker.ok(['rm', '-f', 'plain']);
  });

  it('--cap-add, --cap-drop and --privileged decide what root may do; --user 1000 has none', async () => {
    const tuned = await world.docker.run(['run', '--rm', '--cap-add', 'NET_ADMIN', '--cap-drop', 'chown', 'busybox', 'sh', '-c', PROBE]);
    assert.equal(caps(tuned.stdout).CapEff, (0xa80425fb + 2 ** 12 - 1).toString(16).padStart(16, '0'));
    assert.match(tuned.stdout, /mtu-ok/);
    assert.doesNotMatch(tuned.stdout, /chown-ok/);
    assert.match(tuned.stderr, /chown: \/tmp: Operation not permitted/);

    const all = caps(await world.docker.ok(['run', '--rm', '--privileged', 'busybox', 'grep', 'Cap', '/proc/self/status']));
    assert.deepEqual([all.CapEff, all.CapBnd], [ALL_OF_THE_GUEST, ALL_OF_THE_GUEST]);
    const user = caps(await world.docker.ok(['run', '--rm', '--user', '1000', '--cap-add', 'ALL', 'busybox', 'grep', 'Cap', '/proc/self/status']));
    assert.deepEqual([user.CapEff, user.CapPrm, user.CapInh, user.CapBnd], [NONE, NONE, NONE, ALL_OF_THE_GUEST]);

    const unknown = await world.docker.run(['run', '--rm', '--cap-add', 'FLY', 'busybox', 'true']);
    assert.equal(unknown.code, 125, unknown.stderr);
    // The CLI sends it as CAP_FLY.
    assert.match(unknown.stderr, /body\/cap_add\/0 "CAP_FLY" is not a capability/);
    const option = await world.docker.run(['run', '--rm', '--tmpfs', '/x:size=1m,remount', 'busybox', 'true']);
    assert.equal(option.code, 125, option.stderr);
    assert.match(option.stderr, /body\/tmpfs\/0\/options "remount" is not a tmpfs option/);
  });

  it('takes them through /v1: the item shows them, bad ones are 400s naming the field', async () => {
    const bad = async (body: Record<string, unknown>, field: string) => {
      const r = await world.api.call('POST', '/v1/containers', { name: 'bad', image: 'busybox:latest', ...body });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.field, field, r.text);
    };
    await bad({ cap_drop: ['CHOWN', 'nope'] }, 'body/cap_drop/1');
    await bad({ tmpfs: [{ container_path: '/a', options: 'size=1m,uid=x' }] }, 'body/tmpfs/0/options');
    await bad({ tmpfs: [{ container_path: '/data/' }], volumes: [{ container_path: '/data' }] }, 'body/tmpfs/0/container_path');
    await bad({ tmpfs: [{ container_path: '/..' }] }, 'body/tmpfs/0/container_path');

    const id = await world.api.create({
      name: 'v1',
      image: 'busybox:latest',
      args: ['sh', '-c', 'grep CapEff /proc/self/status; grep " /cache " /proc/mounts'],
      cap_add: ['cap_sys_time'],
      cap_drop: ['ALL'],
      tmpfs: [{ container_path: '/cache/', options: 'exec,size=2m' }],
    });
    const item = await world.api.waitFor(id, ['exited']);
    assert.deepEqual([item.cap_add, item.cap_drop, item.privileged, item.tmpfs], [['CAP_SYS_TIME'], ['ALL'], false, [{ container_path: '/cache', options: 'exec,size=2m' }]]);
    const out = (await world.api.logs(id)).map((l) => l.message).join('\n');
    assert.match(out, /^CapEff:\s+0000000002000000$/m, 'only SYS_TIME');
    assert.match(out, /^tmpfs \/cache tmpfs rw,nosuid,nodev,relatime,size=2048k /m, 'exec over the default noexec');
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('leaves nothing behind', async () => {
    await assertNoLeaks(world);
  });
});
