/**
 * What scripts/start.sh runs: the compiled manager (`node dist/cli/hearth.js serve`, no TypeScript loader)
 * serves /health and stops cleanly on SIGTERM, and the `hearth` command explains itself. dist/ is brought up
 * to date first (scripts/test.sh has already built it; run alone, this file builds it itself), so the test
 * never runs stale output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { startManager, type ManagerProcess } from '../helpers/manager-process.ts';
import { freePort } from '../helpers/registry.ts';

await enterTestNetns(import.meta.url);

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** `hearth <args>` from dist/, on plain Node. */
function hearth(args: string[], env: Record<string, string> = {}) {
  const all: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete all.NODE_OPTIONS;
  return spawnSync(process.execPath, [path.join(ROOT, 'dist/cli/hearth.js'), ...args], { env: all, encoding: 'utf8' });
}

before(() => {
  const build = spawnSync(path.join(ROOT, 'scripts/build.sh'), ['--if-changed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `scripts/build.sh failed:\n${build.stderr}`);
});

describe('the hearth command, compiled', () => {
  it('--help lists the verbs on stdout and exits 0', () => {
    const r = hearth(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: hearth \[options\] \[command\]/);
    for (const verb of ['run', 'ps', 'exec', 'logs', 'pull', 'volume', 'events', 'stats']) assert.match(r.stdout, new RegExp(`^ {2}${verb} `, 'm'));
    assert.match(r.stdout, /^ {2}serve +run the manager/m);
    assert.equal(r.stderr, '');
  });

  it('an unknown command or option, or none, is a usage error: exit 2 and a message on stderr', () => {
    for (const [args, message] of [
        [['bogus'], "hearth: unknown command 'bogus'"],
        [['--bogus'], "hearth: unknown option '--bogus'"],
        [['serve', 'now'], "hearth: too many arguments for 'serve'. Expected 0 arguments but got 1."],
        [['ps', '--bogus'], "hearth: unknown option '--bogus'"],
        [[], 'hearth: no command given'],
      ] as const) {
      const r = hearth([...args]);
      assert.equal(r.status, 2, `hearth ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.startsWith(`${message}\n`), r.stderr);
    }
  });

  it('serve that cannot start exits 1 and says why', () => {
    const r = hearth(['serve'], { HEARTH_PORT: 'eighty' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, 'hearth: invalid configuration: HEARTH_PORT (listen.port): expected integer\n');
  });
});

describe('the compiled manager', () => {
  let dataDir: string;
  let manager: ManagerProcess | undefined;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hearth-compiled-'));
  });
  after(async () => {
    await manager?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves /health, the web UI the build bundled and the host facts, then stops with status 0 on SIGTERM', async () => {
    manager = await startManager({ dataDir, port: await freePort(), compiled: true });
    const r = await fetch(`${manager.url}/health`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ok' });
    const shell = await fetch(`${manager.url}/`);
    assert.equal(shell.status, 200);
    const script = /<script type="module" src="(\/ui\/app\.js)">/.exec(await shell.text())?.[1];
    assert.ok(script, 'the shell loads the bundle');
    const bundle = await fetch(`${manager.url}${script}`);
    assert.equal(bundle.status, 200);
    assert.ok((await bundle.text()).length > 10_000, 'the bundled app');
    const host = await fetch(`${manager.url}/v1/host`);
    assert.equal(host.status, 200);
    assert.equal((await host.json()).item.version, JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version);
    assert.equal(await manager.stop(), 0, manager.output());
  });
});
