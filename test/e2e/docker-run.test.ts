/**
 * `docker run` as the real CLI does it (create -> attach -> wait -> start) against a real manager and VMs:
 * output and exit codes of fast-exiting containers never lost, `--rm` removing, `-i` feeding stdin, `-it`
 * under a pseudo-terminal, a name conflict in dockerd's words, and a container made through Docker seen,
 * stopped and deleted through /v1 (and the other way round), volumes named and anonymous (`-v /path`), and
 * `--add-host` and `--dns` in the guest's files. Images are pulled through /v1 first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { HELLO_OUTPUT } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv, pullThroughV1 } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

describe('docker run through Hearth', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
    await pullThroughV1(world, ['hello-world:latest', 'busybox:latest']);
  });
  after(async () => {
    await world?.close();
  });

  it('run --rm hello-world prints its output, exits 0 and leaves nothing', async () => {
    const r = await world.docker.run(['run', '--rm', 'hello-world']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(HELLO_OUTPUT), r.stdout);
    assert.equal((await world.docker.ok(['ps', '-aq'])).trim(), '');
  });

  it('keeps stdout and stderr apart and returns the exit code of a process that exits at once', async () => {
    const r = await world.docker.run(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('run -i feeds stdin to the process and ends it at EOF', async () => {
    const r = await world.docker.run(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello\nworld\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HELLO\nWORLD\ndone\n');
  });

  it('run -it under a pseudo-terminal gives the process a terminal', () => {
    const cmd = `docker run --rm -it busybox sh -c 'tty; stty size; exit 5'`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...world.docker.env(), COLUMNS: '100', LINES: '30' }, encoding: 'utf8', timeout: 120_000, input: '' });
    assert.equal(r.status, 5, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
  });

  it('run -it detaches on Ctrl-P Ctrl-Q leaving the shell running; attach reaches the same shell', async () => {
    const env = { ...process.env, ...world.docker.env() };
    const typed = (keys: string) => `(sleep 3; ${keys}; sleep 2) | script -qec`;
    const first = spawnSync('bash', ['-c', `${typed("printf 'echo first\\n'; sleep 1; printf '\\020\\021'")} "docker run -it --name detached busybox sh" /dev/null`], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(first.status, 0, first.stdout);
    assert.match(first.stdout, /first\r\n/);
    assert.equal((await world.docker.ok(['inspect', '--format', '{{.State.Status}}', 'detached'])).trim(), 'running');
    const again = spawnSync('bash', ['-c', `${typed("printf 'echo again\\n'; sleep 1; printf 'exit 3\\n'")} "docker attach detached" /dev/null`], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(again.status, 3, again.stdout);
    assert.match(again.stdout, /again\r\n/);
    await world.docker.ok(['rm', 'detached']);
  });

  it('logs of a TTY container give back what the terminal wrote, \\r\\n included, unframed', async () => {
    await world.docker.ok(['run', '-t', '--name', 'ttylog', 'busybox', 'sh', '-c', 'echo one; echo two']);
    const logs = await world.docker.run(['logs', 'ttylog']);
    assert.equal(logs.stdout, 'one\r\ntwo\r\n');
    const v1 = (await world.api.call('GET', '/v1/containers')).body.items.find((c: any) => c.name === 'ttylog');
    const items = (await world.api.call('GET', `/v1/containers/${v1.id}/logs`)).body.items;
    assert.deepEqual(items.map((e: any) => [e.message, Object.keys(e).sort().join()]), [['one', 'message,stream,timestamp'], ['two', 'message,stream,timestamp']], '/v1 keeps its lines and shape');
    await world.docker.ok(['rm', 'ttylog']);
  });

  it('a name in use is dockerd\'s conflict; run without --rm keeps the exited container and its exit code', async () => {
    const first = await world.docker.run(['run', '--name', 'kept', 'busybox', 'sh', '-c', 'exit 7']);
    assert.equal(first.code, 7, first.stderr);
    const id = (await world.docker.ok(['inspect', '--format', '{{.Id}}', 'kept'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const again = await world.docker.run(['run', '--name', 'kept', 'busybox', 'true']);
    assert.equal(again.code, 125);
    assert.match(
      again.stderr,
      new RegExp(`Conflict\\. The container name "/kept" is already in use by container "${id}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`),
    );
    const state = await world.docker.ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}', 'kept']);
    assert.equal(state.trim(), 'exited 7 false');
    // One model: /v1 sees it, by the same 64-hex id, and deletes it; Docker no longer does.
    const v1 = (await world.api.call('GET', '/v1/containers')).body.items.find((c: any) => c.name === 'kept');
    assert.equal(v1.container_id, id);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${v1.id}`)).status, 204);
    const gone = await world.docker.run(['container', 'inspect', 'kept']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such container: kept/);
  });

  it('a container made through /v1 is listed, stopped and removed through Docker', async () => {
    const id = await world.api.create({ name: 'from-v1', image: 'busybox:latest', args: ['sleep', '600'] });
    await world.api.waitFor(id, ['running']);
    const ps = await world.docker.ok(['ps', '--format', '{{.Names}} {{.State}}']);
    assert.match(ps, /^from-v1 running$/m);
    await world.docker.ok(['stop', '-t', '1', 'from-v1']);
    assert.equal((await world.api.get(id)).state, 'stopped');
    await world.docker.ok(['rm', 'from-v1']);
    assert.equal((await world.api.call('GET', `/v1/containers/${id}`)).status, 404);
  });

  it('-v with a name is a named volume: what one container wrote, the next one reads', async () => {
    await world.docker.ok(['run', '--rm', '-v', 'notes:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(await world.docker.ok(['run', '--rm', '-v', 'notes:/data:ro', 'busybox', 'cat', '/data/f']), 'kept\n');
    const mounts = await world.api.call('DELETE', '/v1/volumes/notes');
    assert.ok(mounts.status === 204 || mounts.status === 200, mounts.text);
  });

  it('-v /path alone is an anonymous volume, removed with its --rm container', async () => {
    assert.equal(await world.docker.ok(['run', '--rm', '-v', '/data', 'busybox', 'sh', '-c', 'echo x > /data/f && cat /data/f']), 'x\n');
    assert.equal((await world.docker.ok(['ps', '-aq'])).trim(), '');
    assert.equal((await world.docker.ok(['volume', 'ls', '-q'])).trim(), '', 'no volume left');
    const id = (await world.docker.ok(['create', '--mount', 'type=volume,target=/data', 'busybox', 'grep', '-c', ' /data ', '/proc/mounts'])).trim();
    assert.equal(await world.docker.ok(['start', '-a', id]), '1\n', 'a mount of its own');
    assert.match((await world.docker.ok(['volume', 'ls', '-q'])).trim(), /^[0-9a-f]{64}$/, 'one anonymous volume while the container exists');
    await world.docker.ok(['rm', '-v', id]);
    assert.equal((await world.docker.ok(['volume', 'ls', '-q'])).trim(), '', 'removed with it');
  });

  it('--add-host adds a line to /etc/hosts and --dns replaces the name servers', async () => {
    const hosts = await world.docker.ok(['run', '--rm', '--add-host', 'db.local:10.1.2.3', 'busybox', 'cat', '/etc/hosts']);
    assert.match(hosts, /^10\.1\.2\.3\s+db\.local$/m);
    const resolv = await world.docker.ok(['run', '--rm', '--dns', '10.9.9.9', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.equal(resolv, 'nameserver 10.9.9.9\n');
    const id = (await world.docker.ok(['create', '--add-host', 'gw:host-gateway', '--dns', '10.9.9.9', 'busybox', 'true'])).trim();
    assert.equal(await world.docker.ok(['inspect', '--format', '{{json .HostConfig.ExtraHosts}} {{json .HostConfig.Dns}}', id]), '["gw:host-gateway"] ["10.9.9.9"]\n');
    await world.docker.ok(['rm', id]);
    const bad = await world.docker.run(['run', '--rm', '--add-host', 'bad_name:10.1.2.3', 'busybox', 'true']);
    assert.equal(bad.code, 125, bad.stderr);
    assert.match(bad.stderr, /body\/extra_hosts\/0\/hostname/);
  });

  it('leaves nothing behind', async () => {
    await assertNoLeaks(world);
  });
});
