/**
 * Networks with the real `docker` CLI, and Debian's docker-compose 1.29 bringing up a project, against a
 * real manager and real VMs: a database-ish service holding a named volume, a web service that depends on
 * it, reaches it by its service name and publishes a port, both with environment; then ps, logs, exec, a
 * one-off run, a second up (nothing to do), a service recreated with its port, stop, and down -v leaving
 * nothing behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ComposeProject } from '../helpers/compose-cli.ts';
import { WEBAPP_PAGE } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { freePort } from '../helpers/registry.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

describe('Docker API: networks and docker-compose', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('has bridge; a network made by docker network create maps onto it, names resolve on it, anything else is refused', async () => {
    const ls = await world.docker.ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    assert.equal(ls, 'bridge bridge local\n');
    assert.deepEqual(JSON.parse(await world.docker.ok(['network', 'inspect', '--format', '{{json .IPAM.Config}}', 'bridge'])), [{ Subnet: '10.213.0.0/22', Gateway: '10.213.0.1' }]);
    assert.equal(await world.docker.ok(['network', 'inspect', '--format', '{{index .Options "com.docker.network.bridge.name"}}', 'bridge']), 'fcbr0\n');

    const id = (await world.docker.ok(['network', 'create', '--label', 'team=a', 'team'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(await world.docker.ok(['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}']), 'team\n', 'the built-in bridge is never dangling');
    for (const [args, why] of [
      [['--driver', 'overlay', 'x'], /driver overlay is not supported by Hearth/],
      [['--subnet', '10.9.0.0/24', 'x'], /an address plan \(IPAM\) of its own is not supported by Hearth/],
      [['--internal', 'x'], /an internal network is not supported/],
      [['team'], /network with name team already exists/],
      [['host'], /operation is not permitted on predefined host network/],
    ] as const) {
      const r = await world.docker.run(['network', 'create', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, why);
    }
    await world.docker.ok(['run', '-d', '--name', 'server', '--network', 'team', '--network-alias', 'files', 'webapp']);
    const fetched = await world.docker.ok(['run', '--rm', '--network', 'team', 'busybox', 'wget', '-q', '-O', '-', 'http://files/']);
    assert.equal(fetched, WEBAPP_PAGE, 'the alias resolves to the server on the network');
    const byName = await world.docker.ok(['run', '--rm', '--network', 'team', 'busybox', 'wget', '-q', '-O', '-', 'http://server/']);
    assert.equal(byName, WEBAPP_PAGE, 'the container name resolves too');
    const outside = await world.docker.ok(['run', '--rm', 'busybox', 'cat', '/etc/hosts']);
    assert.doesNotMatch(outside, /server|files/, 'a container on bridge only is told no names');

    const members = await world.docker.ok(['network', 'inspect', '--format', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'team']);
    assert.match(members, /^server 10\.213\.\d+\.\d+\/22$/m);
    assert.equal((await world.docker.ok(['inspect', '--format', '{{json .NetworkSettings.Networks.team.Aliases}}', 'server'])).trim(), '["files"]');
    await world.docker.ok(['network', 'disconnect', 'team', 'server']);
    await world.docker.ok(['network', 'connect', '--alias', 'web', 'team', 'server']);
    assert.equal(await world.docker.ok(['run', '--rm', '--network', 'team', 'busybox', 'wget', '-q', '-O', '-', 'http://web/']), WEBAPP_PAGE, 'the alias given at connect');
    const inUse = await world.docker.run(['network', 'rm', 'team']);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /has active endpoints/);
    await world.docker.ok(['rm', '-f', 'server']);
    assert.equal(await world.docker.ok(['network', 'rm', 'team']), 'team\n');
    const gone = await world.docker.run(['network', 'inspect', 'team']);
    assert.match(gone.stderr, /network team not found/);
    const none = await world.docker.run(['run', '--rm', '--network', 'none', 'busybox', 'true']);
    assert.match(none.stderr, /HostConfig\.NetworkMode "none" is not supported by Hearth/);
  });

  it('brings up a two-service project: a named volume, a port, environment, a dependency reached by name, stop_grace_period and log options; ps, logs, stop, down -v', async () => {
    const port = await freePort();
    const project = new ComposeProject(
      world.docker,
      'shop',
      `version: "3.8"
services:
  db:
    image: webapp
    volumes:
      - data:/www
    environment:
      - ROLE=database
  web:
    image: busybox
    depends_on:
      - db
    command: sh -c 'mkdir -p /www && wget -q -O /www/index.html http://db/ && echo "$$ROLE fetched from db" && httpd -f -p 80 -h /www'
    ports:
      - "${port}:80"
    environment:
      ROLE: frontend
    stop_grace_period: 3s
    logging:
      options:
        max-size: "1m"
volumes:
  data:
`,
    );
    try {
      const up = await project.ok(['up', '-d']);
      assert.match(up.stderr, /Creating network "shop_default" with the default driver/);
      assert.match(up.stderr, /Creating volume "shop_data" with default driver/);
      assert.match(up.stderr, /Creating shop_web_1 \.\.\. done/);
      assert.equal(await world.docker.ok(['inspect', '--format', '{{.Config.StopTimeout}}', 'shop_web_1']), '3\n', 'stop_grace_period is its StopTimeout');
      const page = await fetchUntil(`http://127.0.0.1:${port}/`);
      assert.equal(page, WEBAPP_PAGE, 'web fetched from db by service name, and is published on the port');

      const ps = (await project.ok(['ps'])).stdout;
      assert.match(ps, /^shop_db_1 .* Up +80\/tcp/m);
      assert.match(ps, new RegExp(`^shop_web_1 .* Up +0\\.0\\.0\\.0:${port}->80/tcp`, 'm'));
      assert.match((await project.ok(['logs', 'web'])).stdout, /web_1 +\| frontend fetched from db/);
      assert.equal((await project.ok(['exec', '-T', 'db', 'sh', '-c', 'echo $ROLE'])).stdout.trim(), 'database');
      // a one-off container of a service, linked to its service's and on the project network
      assert.equal((await project.ok(['run', '--rm', 'web', 'wget', '-q', '-O', '-', 'http://db/'])).stdout, WEBAPP_PAGE);
      // names resolve both ways: the one that started first learnt of the later one
      assert.equal(await world.docker.ok(['exec', 'shop_db_1', 'wget', '-q', '-O', '-', 'http://web/']), WEBAPP_PAGE);
      const labels = await world.docker.ok(['ps', '--filter', 'label=com.docker.compose.project=shop', '--format', '{{.Names}} {{.Label "com.docker.compose.service"}} {{.Networks}}']);
      assert.deepEqual(labels.trim().split('\n').sort(), ['shop_db_1 db shop_default', 'shop_web_1 web shop_default']);
      assert.match(await world.docker.ok(['volume', 'inspect', '--format', '{{index .Labels "com.docker.compose.project"}}', 'shop_data']), /^shop$/m);

      assert.match((await project.ok(['up', '-d'])).stderr, /shop_web_1 is up-to-date/);
      await project.ok(['up', '-d', '--force-recreate', 'web']);
      assert.equal(await fetchUntil(`http://127.0.0.1:${port}/`), WEBAPP_PAGE, 'the recreated web has the port and finds db');

      await project.ok(['stop']);
      assert.match((await project.ok(['ps'])).stdout, /^shop_web_1 .* Exit \d+/m);
      const down = await project.ok(['down', '-v']);
      assert.match(down.stderr, /Removing network shop_default/);
      assert.match(down.stderr, /Removing volume shop_data/);
      assert.equal(await world.docker.ok(['ps', '-aq']), '');
      assert.equal(await world.docker.ok(['network', 'ls', '-q', '--filter', 'name=shop']), '');
      assert.equal(await world.docker.ok(['volume', 'ls', '-q']), '');
      await assertNoLeaks(world);
    } finally {
      await project.run(['down', '-v']);
      project.close();
    }
  });
});

/** The page at `url`, once something answers there (a VM that has just started may not listen yet). */
async function fetchUntil(url: string, ms = 60_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return await r.text();
    } catch {
      // not listening yet
    }
    if (Date.now() > until) assert.fail(`nothing answered at ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
