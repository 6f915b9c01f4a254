/**
 * The compiled `hearth` CLI against a real manager with real VMs, as a user runs it: every verb, the exit
 * codes scripts rely on (the process's own for `run` and `exec`, 125 when Hearth failed, 1 for a failed
 * command), the API's errors with the field they name, `ps` columns lined up with long names, and `-it`
 * under a pseudo-terminal with the terminal restored afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HELLO_OUTPUT } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { HEARTH_JS, HearthCli, buildCli } from '../helpers/hearth-cli.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { startManager, type ManagerProcess } from '../helpers/manager-process.ts';
import { freePort } from '../helpers/registry.ts';

await enterTestNetns(import.meta.url);

/** Each row's cells, cut at the columns where the header's titles start (so a misaligned row reads wrong). */
function cells(table: string): Record<string, string>[] {
  const [header, ...rows] = table.trimEnd().split('\n');
  const titles = header!.split(/ {2,}/);
  const starts = titles.map((t) => header!.indexOf(t));
  return rows.map((row) =>
    Object.fromEntries(titles.map((t, i) => [t, row.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()])),
  );
}

describe('the hearth CLI against a real manager', () => {
  let world: E2eEnv;
  let hearth: HearthCli;
  const LONG = 'a-container-with-a-rather-long-name-for-the-columns';
  const started = new Date().toISOString();
  before(async () => {
    buildCli();
    world = await e2eEnv();
    hearth = new HearthCli(world.manager.url);
  });
  after(async () => {
    await world?.close();
  });

  it('pull prints a line per step without a terminal, a progress bar with one', async () => {
    const plain = await hearth.run(['pull', 'busybox']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^Pulling busybox$/m);
    assert.match(plain.stdout, /^[0-9a-f]{12}: (downloading|verified|cached)/m);
    assert.match(plain.stdout, /^Pulled busybox \(sha256:[0-9a-f]{64}\)$/m);
    assert.doesNotMatch(plain.stdout, /\r|\x1b/, 'no terminal control without a terminal');
    const bar = hearth.underPty('hearth pull hello-world');
    assert.equal(bar.code, 0, bar.stdout);
    assert.match(bar.stdout, /Downloading \[=+\] 100%/);
    assert.match(bar.stdout, /Pulled hello-world \(sha256:/);
    const missing = await hearth.run(['pull', 'no-such-image']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^hearth: .+no-such-image/);
  });

  it('images lists them as docker does; --json gives the API items', async () => {
    const rows = cells(await hearth.ok(['images']));
    const busybox = rows.find((r) => r.REPOSITORY === 'busybox');
    assert.equal(busybox?.TAG, 'latest', JSON.stringify(rows));
    assert.match(busybox!['IMAGE ID']!, /^[0-9a-f]{12}$/);
    const items = JSON.parse(await hearth.ok(['images', '--json'])) as { references: string[] }[];
    assert.ok(items.some((i) => i.references.includes('docker.io/library/hello-world:latest')));
  });

  it('run --rm hello-world prints the greeting, exits 0 and leaves no container', async () => {
    const r = await hearth.run(['run', '--rm', 'hello-world']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(HELLO_OUTPUT), r.stdout);
    assert.equal(await hearth.ok(['ps', '-aq']), '');
  });

  it("run returns the process's exit code with stdout and stderr apart; options after IMAGE are the process's", async () => {
    const r = await hearth.run(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3', '-d']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('run of a command the image lacks exits 127 with the reason, as docker', async () => {
    const r = await hearth.run(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /^hearth: the container did not start: .*executable file not found in \$PATH/m);
    assert.equal(await hearth.ok(['ps', '-aq']), '', '--rm removed it');
  });

  it('Ctrl-C to run --rm ends the run with 130 and removes the container, whenever it comes', async () => {
    // Before the process runs the run is given up; after, SIGINT goes to `sleep`, which dies of it (128+2).
    const child = spawn(process.execPath, [HEARTH_JS, 'run', '--rm', 'busybox', 'sleep', '600'], { env: hearth.env(), stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    while ((await world.api.call('GET', '/v1/containers')).body.items.length === 0) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual((await world.api.call('GET', '/v1/containers')).body.items, [], '--rm removed it');
  });

  it('run -i feeds stdin to the process', async () => {
    const r = await hearth.run(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HELLO\ndone\n');
  });

  it('run -it gives the process a terminal, returns its code and restores the local terminal', () => {
    // The API starts the process before anyone can attach, in a 24x80 window; the attach then sets the local
    // window's size (a SIGWINCH in the guest), which the process reports, whether it came before or after
    // its trap was set.
    const report = `trap "echo size \\$(stty size); exit 5" WINCH; s=$(stty size); [ "$s" != "24 80" ] && { echo size $s; exit 5; }; while :; do sleep 0.1; done`;
    const r = hearth.underPty(`stty rows 33 cols 111; stty -a | grep -o -- '-\\?icanon'; hearth run --rm -it busybox sh -c 'tty; ${report}'; echo "status $?"; stty -a | grep -o -- '-\\?icanon'`);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /(^|\^@)size 33 111\r?$/m, 'the local window size');
    assert.match(r.stdout, /status 5/);
    const modes = r.stdout.match(/^-?icanon/gm);
    assert.deepEqual(modes, ['icanon', 'icanon'], `canonical mode before and after:\n${r.stdout}`);
  });

  it('a refused field is the API message, the field and the flag, exit 125; a bad flag is 125 too', async () => {
    const bad = await hearth.run(['run', '--name', 'no spaces', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^hearth: .*body\/name.*\[--name\]$/m);
    const flag = await hearth.run(['run', '-p', '80', 'busybox']);
    assert.equal(flag.code, 125);
    assert.match(flag.stderr, /^hearth: -p 80: give the host port too/m);
    const unknown = await hearth.run(['run', '--bogus', 'busybox']);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /^hearth: unknown option '--bogus'/);
  });

  it('run -d prints the id; ps lines up its columns with long names, -q gives ids, --json the items', async () => {
    const id = (await hearth.ok(['run', '-d', '--name', LONG, '-p', '127.0.0.1:18181:80', '-e', 'GREETING=hi', 'busybox', 'sh', '-c', 'echo "$GREETING from logs"; echo oops >&2; exec sleep 600'])).trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    await hearth.ok(['run', '-d', '--name', 'short', 'busybox', 'sleep', '600']);
    const table = await hearth.ok(['ps']);
    const rows = cells(table);
    assert.deepEqual(rows.map((r) => r.NAMES).sort(), [LONG, 'short'].sort(), table);
    const long = rows.find((r) => r.NAMES === LONG)!;
    assert.equal(long['CONTAINER ID'], id.slice(0, 12), table);
    assert.equal(long.IMAGE, 'busybox', table);
    assert.equal(long.PORTS, '127.0.0.1:18181->80/tcp', table);
    assert.match(long.STATUS!, /^Up /, table);
    assert.equal(rows.find((r) => r.NAMES === 'short')!.COMMAND, '"sleep 600"', table);
    // Without args, the image's command, as docker shows it (busybox's Cmd is `sh`, which ends at once).
    await hearth.ok(['run', '--name', 'image-cmd', 'busybox']);
    assert.equal(cells(await hearth.ok(['ps', '-a'])).find((r) => r.NAMES === 'image-cmd')!.COMMAND, '"sh"');
    assert.equal(await hearth.ok(['rm', 'image-cmd']), 'image-cmd\n');
    assert.equal((await hearth.ok(['ps', '-q'])).split('\n').filter(Boolean).length, 2);
    const items = JSON.parse(await hearth.ok(['ps', '--json'])) as { id: string; state: string }[];
    assert.ok(items.some((i) => i.id === id && i.state === 'running'));
  });

  it("exec returns the command's exit code and output, with stdin and with a terminal", async () => {
    const code = await hearth.run(['exec', LONG, 'sh', '-c', 'echo in-exec; exit 7']);
    assert.equal(code.code, 7, code.stderr);
    assert.equal(code.stdout, 'in-exec\n');
    const missing = await hearth.run(['exec', 'short', 'no-such-command']);
    assert.equal(missing.code, 127, missing.stderr);
    const input = await hearth.run(['exec', '-i', 'short', 'sh', '-c', 'cat; exit 4'], { input: 'piped\n' });
    assert.equal(input.code, 4, input.stderr);
    assert.equal(input.stdout, 'piped\n');
    const tty = hearth.underPty(`hearth exec -it ${LONG} sh -c 'tty; exit 6'; echo "status $?"; stty -a | grep -o -- '-\\?icanon'`);
    assert.match(tty.stdout, /\/dev\/pts\/\d+/);
    assert.match(tty.stdout, /status 6/);
    assert.match(tty.stdout, /^icanon/m, 'the terminal is back in canonical mode');
    // The window's size at the start, then a change of it (SIGWINCH) reaches the command's terminal. The
    // change is made again, each time to another size, until the command reports one: a SIGWINCH that came
    // before the CLI attached changed nothing the command could see. `-t` alone: a shell gives a command it
    // runs in the background /dev/null as its stdin, which `-i` would refuse (not a TTY), as docker does.
    const resize = hearth.underPty(
      `stty rows 40 cols 100; hearth exec -t ${LONG} sh -c 'echo "start $(stty size)"; trap "echo \\"resized \\$(stty size)\\"; exit 3" WINCH; while :; do sleep 0.1; done' & p=$!; ` +
        `for i in $(seq 1 60); do sleep 1; stty rows $((20 + i % 10)) cols 77; kill -WINCH $p 2>/dev/null || break; done; wait $p; echo "status $?"`,
    );
    assert.match(resize.stdout, /^start 40 100\r?$/m, resize.stdout);
    assert.match(resize.stdout, /^resized 2\d 77\r?$/m, resize.stdout);
    assert.match(resize.stdout, /status 3/, resize.stdout);
    const notTty = await hearth.run(['exec', '-it', 'short', 'true']);
    assert.equal(notTty.code, 125);
    assert.equal(notTty.stderr, 'hearth: the input device is not a TTY: leave out -t, or run from a terminal\n');
    const gone = await hearth.run(['exec', 'nobody', 'true']);
    assert.equal(gone.code, 125);
    assert.equal(gone.stderr, 'hearth: no such container: nobody\n');
  });

  it('logs prints stdout and stderr apart, --tail, -t; stats and inspect read the container', async () => {
    const all = await hearth.run(['logs', LONG]);
    assert.equal(all.stdout, 'hi from logs\n');
    assert.equal(all.stderr, 'oops\n');
    const tail = await hearth.run(['logs', '--tail', '1', '-t', LONG]);
    assert.match(tail.stdout + tail.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z oops\n$/);
    const stats = cells(await hearth.ok(['stats', '--no-stream', LONG]));
    assert.equal(stats.length, 1);
    assert.equal(stats[0]!.NAME, LONG);
    assert.match(stats[0]!['CPU %']!, /^\d+\.\d\d%$/);
    assert.match(stats[0]!['MEM USAGE / LIMIT']!, /\/ 256MiB$/);
    const figures = JSON.parse(await hearth.ok(['stats', '--no-stream', '--json', 'short'])) as { name: string; cpu_percent: number }[];
    assert.equal(figures[0]?.name, 'short');
    assert.equal(typeof figures[0]?.cpu_percent, 'number');
    const [item] = JSON.parse(await hearth.ok(['inspect', LONG])) as { name: string; env_vars: Record<string, string> }[];
    assert.equal(item?.name, LONG);
    assert.deepEqual(item?.env_vars, { GREETING: 'hi' });
    const nothing = await hearth.run(['inspect', 'nobody']);
    assert.equal(nothing.code, 1);
    assert.equal(nothing.stderr, 'hearth: no such container, image or volume: nobody\n');
  });

  it('stats streams a table a round', async () => {
    const twice = hearth.streamUntil(['stats', LONG], (out) => (out.match(/^CONTAINER ID/gm) ?? []).length >= 2);
    const rounds = cells((await twice).split(/^(?=CONTAINER ID)/m)[1]!);
    assert.equal(rounds[0]?.NAME, LONG);
    assert.match(rounds[0]!['CPU %']!, /^\d+\.\d\d%$/);
  });

  it('stop, start and restart report each container; logs -f ends with the process; events streams', async () => {
    const follow = hearth.run(['logs', '-f', 'short']);
    // From this moment (not from when the CLI gets going), so the stop cannot come before the stream starts.
    const live = hearth.streamUntil(['events', '--container', 'short', '--since', new Date().toISOString()], (out) => /container short state running -> stopped/.test(out));
    assert.equal(await hearth.ok(['stop', '-t', '1', 'short']), 'short\n');
    assert.equal((await follow).code, 0, 'the follow ends when the process does');
    assert.doesNotMatch(await live, new RegExp(LONG), 'only the container asked for');
    assert.match(cells(await hearth.ok(['ps', '-a'])).find((r) => r.NAMES === 'short')!.STATUS!, /^Stopped \(\d+\) /);
    assert.equal(await hearth.ok(['start', 'short']), 'short\n');
    assert.equal(await hearth.ok(['restart', '-t', '1', 'short']), 'short\n');
    assert.equal((await world.api.call('GET', '/v1/containers?state=running')).body.items.length, 2);
    const both = await hearth.run(['stop', 'nobody', 'short', '-t', '1']);
    assert.equal(both.code, 1, 'one failed');
    assert.equal(both.stdout, 'short\n');
    assert.equal(both.stderr, 'hearth: nobody: no such container: nobody\n');
  });

  it('rm refuses a running container without -f; events tells what happened', async () => {
    const refused = await hearth.run(['rm', LONG]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the container is running: stop it first, or remove it anyway with rm -f/);
    const before = await hearth.ok(['events', '--since', started, '--until', new Date().toISOString()]);
    assert.match(before, new RegExp(`container ${LONG} state creating -> booting`));
    assert.match(before, /container short state running -> stopped exit \d+/);
    assert.equal(await hearth.ok(['rm', '-f', LONG, 'short']), `${LONG}\nshort\n`);
    // A container's events go with it; its deletion is one event that stays.
    const afterRm = await hearth.ok(['events', '--since', started, '--until', new Date().toISOString()]);
    assert.match(afterRm, /container deleted stopped -> - \(deleted container short/);
    assert.doesNotMatch(afterRm, /container short state/);
    const json = (await hearth.ok(['events', '--json', '--type', 'image-pull', '--since', started, '--until', new Date().toISOString()]))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    assert.ok(json.length >= 2 && json.every((e) => e.type === 'image-pull'), JSON.stringify(json));
  });

  it('volume create, ls and rm; rmi untags', async () => {
    assert.equal(await hearth.ok(['volume', 'create', '--size', '64', 'notes']), 'notes\n');
    const rows = cells(await hearth.ok(['volume', 'ls']));
    assert.equal(rows.find((r) => r['VOLUME NAME'] === 'notes')?.SIZE?.endsWith('MB'), true, JSON.stringify(rows));
    const taken = await hearth.run(['volume', 'create', 'notes']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^hearth: .*notes/);
    assert.equal(await hearth.ok(['volume', 'rm', 'notes']), 'notes\n');
    assert.equal(await hearth.ok(['volume', 'ls', '-q']), '');
    assert.match(await hearth.ok(['rmi', 'hello-world']), /^Untagged: docker\.io\/library\/hello-world:latest$/m);
    const again = await hearth.run(['run', '--rm', 'hello-world']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^Unable to find image 'hello-world' locally\n(.*\n)*Pulled hello-world \(sha256:/m);
    assert.ok(again.stdout.includes(HELLO_OUTPUT), again.stdout);
  });

  it('a manager that is not there is named, with exit 1 (125 for run)', async () => {
    const ps = await hearth.run(['ps', '--host', 'http://127.0.0.1:9']);
    assert.equal(ps.code, 1);
    assert.match(ps.stderr, /^hearth: cannot reach the manager at http:\/\/127\.0\.0\.1:9 /);
    const run = await hearth.run(['run', 'busybox'], { env: { HEARTH_HOST: 'http://127.0.0.1:9' } });
    assert.equal(run.code, 125);
    assert.match(run.stderr, /cannot reach the manager at http:\/\/127\.0\.0\.1:9/);
  });

  it('leaves nothing behind', async () => {
    await assertNoLeaks(world);
  });
});

describe('the hearth CLI and an API token', () => {
  const TOKEN = 'cli-test-token-0123456789';
  let dataDir: string;
  let manager: ManagerProcess | undefined;
  before(async () => {
    buildCli();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hearth-cli-token-'));
    manager = await startManager({ dataDir, port: await freePort(), env: { HEARTH_API_TOKEN: TOKEN } });
  });
  after(async () => {
    await manager?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('without HEARTH_API_TOKEN the API refuses, and says so; with it, the verbs work', async () => {
    const hearth = new HearthCli(manager!.url);
    const refused = await hearth.run(['ps']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^hearth: .*(token|Authorization)/im);
    assert.equal(await hearth.ok(['volume', 'ls', '-q'], { env: { HEARTH_API_TOKEN: TOKEN } }), '');
    const events = await hearth.run(['events', '--json', '--since', '0', '--until', new Date().toISOString()], { env: { HEARTH_API_TOKEN: TOKEN } });
    assert.equal(events.code, 0, events.stderr);
  });
});
