/**
 * Images through the real `docker` CLI against a real manager: pull with Docker's progress (and again: up
 * to date; and an image the registry lacks: the CLI's error), images with --format and filters, inspect
 * --format, tag, history, system df, system and container prune, rmi of a tag then of the image, image
 * prune, build refused naming why; and the same library seen from /v1. A private registry: docker login
 * checks the credentials, pulls carry them (X-Registry-Auth), and nobody else's pull rides on them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { busyboxEntries } from '../helpers/app-images.ts';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';

await enterTestNetns(import.meta.url);

describe('Docker API: images with the docker CLI', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('pulls with Docker progress, then finds the image up to date; a missing image is the CLI error', async () => {
    const first = await world.docker.run(['pull', 'busybox']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Using default tag: latest$/m);
    assert.match(first.stdout, /^latest: Pulling from library\/busybox$/m);
    assert.match(first.stdout, /^[0-9a-f]{12}: Pull complete$/m);
    assert.match(first.stdout, /^Digest: sha256:[0-9a-f]{64}$/m);
    assert.match(first.stdout, /^Status: Downloaded newer image for busybox:latest$/m);
    assert.match(first.stdout, /^docker\.io\/library\/busybox:latest$/m);
    const again = await world.docker.run(['pull', 'busybox:latest']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^[0-9a-f]{12}: Already exists$/m);
    assert.match(again.stdout, /^Status: Image is up to date for busybox:latest$/m);
    const missing = await world.docker.run(['pull', 'no-such-image:1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error response from daemon: .*no-such-image/m);
    const every = await world.docker.run(['pull', '-a', 'busybox']);
    assert.equal(every.code, 1);
    assert.match(every.stderr, /docker pull --all-tags\) is not supported by Hearth/);
    const quiet = await world.docker.run(['pull', '-q', 'hello-world']);
    assert.deepEqual([quiet.code, quiet.stdout], [0, 'docker.io/library/hello-world:latest\n']);
  });

  it('lists, inspects, tags and shows history as the CLI prints them', async () => {
    const id = (await world.docker.ok(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const v1 = await world.api.call('GET', '/v1/images/busybox');
    assert.equal(v1.status, 200, v1.text);
    const digest = v1.body.item.digest as string;
    const fields = await world.docker.ok(['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}} {{json .Config.Cmd}} {{len .RootFS.Layers}} {{index .RepoDigests 0}}', 'busybox:latest']);
    assert.equal(fields.trim(), `linux/amd64 ["sh"] 1 busybox@${digest}`);
    // by ID, full or as docker images shows it
    assert.equal((await world.docker.ok(['image', 'inspect', '--format', '{{.Id}}', id.slice(7, 19)])).trim(), id);
    assert.equal((await world.docker.ok(['image', 'inspect', '--format', '{{.Id}}', id])).trim(), id);

    await world.docker.ok(['tag', 'busybox', 'team/tools:1']);
    await world.docker.ok(['tag', id.slice(7, 19), 'localhost:5000/tools']);
    const rows = (await world.docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).trim().split('\n');
    const idOf = Object.fromEntries(rows.map((r) => r.split(' ')));
    const short = id.slice(7, 19);
    assert.deepEqual(Object.keys(idOf).sort(), ['busybox:latest', 'hello-world:latest', 'localhost:5000/tools:latest', 'team/tools:1']);
    for (const name of ['busybox:latest', 'localhost:5000/tools:latest', 'team/tools:1']) assert.equal(idOf[name], short, name);
    assert.deepEqual((await world.docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}}', 'team/*'])).trim(), 'team/tools:1');
    assert.deepEqual((await world.docker.ok(['images', '-q', '--filter', 'reference=busybox'])).trim(), short);
    const history = await world.docker.ok(['history', '--format', '{{.ID}}', 'team/tools:1']);
    assert.equal(history.trim().split('\n')[0], short);
    const missing = await world.docker.run(['image', 'inspect', 'nothing:here']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: nothing:here/);
  });

  it('says what images, containers and volumes take (docker system df)', async () => {
    const id = (await world.docker.ok(['create', '-v', 'scratch:/data', 'busybox', 'true'])).trim();
    try {
      const rows = (await world.docker.ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}/{{.Active}}'])).trim().split('\n');
      assert.deepEqual(rows, ['Images=2/1', 'Containers=1/0', 'Local Volumes=0/0', 'Build Cache=0/0']);
      const verbose = await world.docker.ok(['system', 'df', '-v']);
      assert.match(verbose, /^busybox +latest +[0-9a-f]{12} /m);
    } finally {
      await world.docker.ok(['rm', id]);
    }
  });

  it('prunes the system: ended containers but a labelled one kept, unused networks, no build cache', async () => {
    const ended = (await world.docker.ok(['create', 'busybox', 'true'])).trim();
    const kept = (await world.docker.ok(['create', '--label', 'keep=1', 'busybox', 'true'])).trim();
    const running = (await world.docker.ok(['run', '-d', 'busybox', 'sleep', '600'])).trim();
    await world.docker.ok(['network', 'create', 'spare']);
    assert.equal(await world.docker.ok(['container', 'prune', '-f', '--filter', 'label!=keep=1']), `Deleted Containers:\n${ended}\n\nTotal reclaimed space: 0B\n`);
    const pruned = await world.docker.ok(['system', 'prune', '-f']);
    assert.match(pruned, new RegExp(`Deleted Containers:\n${kept}\n`));
    assert.match(pruned, /Deleted Networks:\nspare\n/);
    assert.deepEqual((await world.docker.ok(['ps', '-aq', '--no-trunc'])).trim(), running, 'the running one stays');
    await world.docker.ok(['rm', '-f', running]);
  });

  it('removes a tag (untagged), then an image by ID only when forced while tags remain, then prunes', async () => {
    const short = (await world.docker.ok(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).trim().slice(7, 19);
    assert.equal(await world.docker.ok(['rmi', 'team/tools:1']), 'Untagged: team/tools:1\n');
    const refused = await world.docker.run(['rmi', short]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);
    const forced = await world.docker.ok(['rmi', '-f', short]);
    assert.match(forced, /^Untagged: busybox:latest$/m);
    assert.match(forced, /^Untagged: localhost:5000\/tools:latest$/m);
    assert.match(forced, /^Deleted: sha256:[0-9a-f]{64}$/m);
    assert.equal((await world.docker.ok(['images', '-q', 'busybox'])).trim(), '');
    const v1 = await world.api.call('GET', '/v1/images/busybox');
    assert.equal(v1.status, 404, 'the same library: gone from /v1 too');

    // prune: without -a only untagged images, which these are not; with -a every unused one
    assert.match(await world.docker.ok(['image', 'prune', '-f']), /Total reclaimed space: 0B/);
    const pruned = await world.docker.ok(['image', 'prune', '-a', '-f']);
    assert.match(pruned, /untagged: hello-world:latest/);
    assert.match(pruned, /deleted: sha256:[0-9a-f]{64}/);
    assert.equal((await world.docker.ok(['images', '-q'])).trim(), '');
  });

  it('refuses build, push and load, naming the command', async () => {
    const build = await world.docker.run(['build', '-q', '-'], { input: 'FROM busybox\n', env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(build.code, 1);
    assert.match(build.stderr, /docker build is not supported by Hearth/);
    const push = await world.docker.run(['push', 'busybox']);
    assert.equal(push.code, 1);
    assert.match(push.stderr, /push/);
  });

  describe('a private registry (Basic auth)', () => {
    let registry: TestRegistry;
    let image: string;
    before(async () => {
      registry = await startRegistry({ auth: 'basic' });
      await pushImage(new Pusher(registry.url, registry.user), 'team/tool', '1', [{ entries: busyboxEntries() }], { config: { Cmd: ['sh'] } });
      image = `${registry.host}/team/tool:1`;
    });
    after(async () => {
      await registry?.stop();
    });

    it('docker login checks the credentials; pulls carry them, and a pull without them is refused', async () => {
      const anonymous = await world.docker.run(['pull', image]);
      assert.equal(anonymous.code, 1);
      assert.match(anonymous.stderr, /pull access denied for .*team\/tool.*docker login/);
      const wrong = await world.docker.run(['login', registry.host, '-u', registry.user!.username, '--password-stdin'], { input: 'not-the-password\n' });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /login attempt to .* failed/);
      const login = await world.docker.run(['login', registry.host, '-u', registry.user!.username, '--password-stdin'], { input: `${registry.user!.password}\n` });
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /Login Succeeded/);
      const pulled = await world.docker.run(['pull', image]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal((await world.docker.ok(['run', '--rm', image, 'echo', 'private'])).trim(), 'private');
      // Logged out, the same pull is refused again: the manager kept no credentials or token of the last one.
      await world.docker.ok(['logout', registry.host]);
      const after = await world.docker.run(['pull', image]);
      assert.equal(after.code, 1);
      assert.match(after.stderr, /pull access denied/);
      await world.docker.ok(['rmi', image]);
    });
  });
});
