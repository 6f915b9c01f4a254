/**
 * The container commands of the real `docker` CLI against Hearth, on two running microVMs: run -d -p (on all
 * addresses and on 127.0.0.1) with a fetch through each port, --hostname, ps (every filter, --format), inspect
 * --format, port, logs (-f, --tail, --since, -t), exec (with and without -it), cp both ways, top, stats
 * --no-stream, rename, the lifecycle (stop, start, restart, kill, pause, unpause, wait, update, rm -f), --restart
 * on-failure and --memory's OOM kill.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WEBAPP_PAGE } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv, pullThroughV1 } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { residentBytes } from '../../src/vmm/process.ts';
import { freePort } from '../helpers/registry.ts';

await enterTestNetns(import.meta.url);

/** One Docker API request on the socket, its body as text. */
function dockerApi(socketPath: string, method: string, route: string, body?: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: route, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    });
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('docker container commands through Hearth', () => {
  let world: E2eEnv;
  let port: number;
  let localPort: number;
  let tmp: string;
  const docker = (args: string[]) => world.docker.ok(args);
  const line = async (args: string[]) => (await docker(args)).trim();

  before(async () => {
    // A policy restart waits 2 s, then 4 s: long enough to be seen `restarting`.
    world = await e2eEnv({ HEARTH_RESTART_BACKOFF_INITIAL_MS: '2000' });
    await pullThroughV1(world, ['busybox:latest', 'webapp:latest']);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hearth-docker-cp-'));
    port = await freePort();
    localPort = await freePort();
    await docker(['run', '-d', '--name', 'web', '-p', `${port}:80`, '-p', `127.0.0.1:${localPort}:80`, '--hostname', 'web1', '-e', 'GREETING=hi there', '--label', 'tier=front', 'webapp']);
    await docker(['run', '-d', '--name', 'ticker', '--label', 'tier=back', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; echo "err $i" >&2; sleep 0.2; done']);
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await world?.close();
  });

  it('run -d -p publishes the port: a fetch through it reaches the container', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), WEBAPP_PAGE);
    const local = await fetch(`http://127.0.0.1:${localPort}/`);
    assert.equal(local.status, 200);
    assert.equal(await local.text(), WEBAPP_PAGE);
    assert.equal(await line(['port', 'web']), `80/tcp -> 0.0.0.0:${port}\n80/tcp -> 127.0.0.1:${localPort}`);
    assert.equal(await line(['port', 'web', '80']), `0.0.0.0:${port}\n127.0.0.1:${localPort}`);
  });

  it('--hostname names the guest: hostname, HOSTNAME and inspect agree', async () => {
    assert.equal(await line(['exec', 'web', 'hostname']), 'web1');
    assert.equal(await line(['exec', 'web', 'sh', '-c', 'echo "$HOSTNAME"']), 'web1');
    assert.equal(await line(['inspect', '--format', '{{.Config.Hostname}}', 'web']), 'web1');
    const bad = await world.docker.run(['create', '--hostname', 'web_1', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid hostname format: "web_1"/);
  });

  it('ps lists running containers with --format and filters; -a adds stopped ones', async () => {
    assert.equal(await line(['ps', '--format', '{{.Names}}', '--filter', 'label=tier=front']), 'web');
    assert.equal(await line(['ps', '--format', '{{.Names}}', '--filter', 'name=tick']), 'ticker');
    assert.equal(await line(['ps', '--format', '{{.Names}} {{.Image}} {{.State}}', '--filter', 'ancestor=webapp']), 'web webapp running');
    const idOfWeb = await line(['inspect', '--format', '{{.Id}}', 'web']);
    assert.equal(await line(['ps', '-q', '--no-trunc', '--filter', `id=${idOfWeb.slice(0, 10)}`]), idOfWeb);
    const ports = await line(['ps', '--format', '{{.Ports}}', '--filter', 'name=web']);
    assert.match(ports, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));
    assert.match(ports, new RegExp(`127\\.0\\.0\\.1:${localPort}->80/tcp`));
    assert.match(await line(['ps', '--format', '{{.Status}}', '--filter', 'name=web']), /^Up /);
    await docker(['create', '--name', 'made', 'busybox', 'true']);
    assert.equal(await line(['ps', '-a', '--format', '{{.Names}} {{.Status}}', '--filter', 'status=created']), 'made Created');
    assert.equal((await docker(['ps', '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort().join(','), 'ticker,web');
    await docker(['start', '-a', 'made']);
    assert.match(await line(['ps', '-a', '--format', '{{.Names}} {{.Status}}', '--filter', 'exited=0']), /^made Exited \(0\)/);
    assert.equal(await line(['ps', '-a', '-n', '1', '--format', '{{.Names}}']), 'made');
    const bad = await world.docker.run(['ps', '--filter', 'status=sleeping']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'status=sleeping'/);
    await docker(['rm', 'made']);
  });

  it('ps filters by network (name or ID prefix), volume (name or path), published and exposed port, and creation order; -p with a host port range', async () => {
    await docker(['network', 'create', 'filters-net']);
    await docker(['create', '--name', 'f1', '--network', 'filters-net', '-v', 'fvol:/data', 'busybox', 'true']);
    await docker(['create', '--name', 'f2', '-p', '127.0.0.1::53/udp', 'busybox', 'true']);
    const names = async (...filters: string[]) =>
      (await docker(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])])).split('\n').filter(Boolean).sort().join(',');
    assert.equal(await names('network=filters-net'), 'f1');
    assert.equal(await names(`network=${(await line(['network', 'inspect', '-f', '{{.Id}}', 'filters-net'])).slice(0, 6)}`), 'f1');
    assert.equal(await names('volume=fvol'), 'f1');
    assert.equal(await names('volume=/data'), 'f1');
    assert.equal(await names('publish=53/udp'), 'f2');
    assert.equal(await names('publish=53'), '', 'tcp unless a protocol is given');
    assert.equal(await names('publish=70-90'), 'web');
    assert.equal(await names('expose=80/tcp'), 'web', 'the image exposes it');
    assert.equal(await names('expose=53/udp'), 'f2', 'a published port is exposed');
    assert.equal(await names('since=f1'), 'f2');
    assert.equal(await names('before=f2', 'name=^/f'), 'f1');
    assert.equal(await names('is-task=true'), '');
    const bad = await world.docker.run(['ps', '--filter', 'publish=8080:80']);
    assert.match(bad.stderr, /invalid filter 'publish=8080:80'/);
    const missing = await world.docker.run(['ps', '--filter', 'before=nothing-here']);
    assert.match(missing.stderr, /No such container: nothing-here/);
    await docker(['rm', 'f1', 'f2']);
    await docker(['network', 'rm', 'filters-net']);
    // a host port range for one container port: the first free one of it, as dockerd picks
    const low = await freePort();
    const range = `${low}-${low + 1}:80`;
    const bound = async (name: string) => line(['inspect', '--format', '{{(index (index .HostConfig.PortBindings "80/tcp") 0).HostPort}}', name]);
    await docker(['create', '--name', 'r1', '-p', range, 'busybox', 'true']);
    await docker(['create', '--name', 'r2', '-p', range, 'busybox', 'true']);
    assert.deepEqual([await bound('r1'), await bound('r2')], [String(low), String(low + 1)]);
    const full = await world.docker.run(['create', '-p', range, 'busybox', 'true']);
    assert.match(full.stderr, new RegExp(`Bind for ${low}-${low + 1} failed: no port of the range is free for 80/tcp`));
    await docker(['rm', 'r1', 'r2']);
  });

  it('inspect --format reads the fields users reach for', async () => {
    const out = await line([
      'inspect',
      '--format',
      '{{.Name}}|{{.State.Status}}|{{.State.Running}}|{{.State.ExitCode}}|{{.State.OOMKilled}}|{{.Config.Image}}|{{index .Config.Labels "tier"}}|{{.HostConfig.RestartPolicy.Name}}|{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}',
      'web',
    ]);
    assert.equal(out, `/web|running|true|0|false|webapp|front|no|${port}`);
    const ip = await line(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', 'web']);
    assert.match(ip, /^10\.213\.\d+\.\d+$/);
    assert.equal(await line(['inspect', '--format', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'web']), ip);
    const started = await line(['inspect', '--format', '{{.State.StartedAt}}', 'web']);
    assert.ok(Date.parse(started) > Date.now() - 600_000, started);
    assert.ok((await line(['inspect', '--format', '{{json .Config.Env}}', 'web'])).includes('"GREETING=hi there"'));
  });

  it('logs: all, --tail, -t, --since, stdout and stderr apart, and -f following', async () => {
    const all = await world.docker.run(['logs', 'ticker']);
    assert.match(all.stdout, /^tick 1\ntick 2\n/);
    assert.match(all.stderr, /^err 1\n/);
    const tail = await world.docker.run(['logs', '--tail', '2', 'ticker']);
    assert.equal(tail.stdout.split('\n').filter(Boolean).length + tail.stderr.split('\n').filter(Boolean).length, 2);
    const stamped = await world.docker.run(['logs', '-t', '--tail', '1', 'ticker']);
    assert.match(stamped.stdout + stamped.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (tick|err) \d+\n$/);
    // --since a line's own timestamp: that line and later ones, none from before.
    await new Promise((r) => setTimeout(r, 1000));
    const lastTick = (await world.docker.run(['logs', '-t', '--tail', '2', 'ticker'])).stdout.trim().split('\n').at(-1)!;
    const [stamp, , n] = lastTick.split(' ');
    const recent = await world.docker.run(['logs', '--since', stamp!, 'ticker']);
    assert.match(recent.stdout, new RegExp(`^tick ${n}\n`));
    assert.ok(!recent.stdout.includes('tick 1\n'));
    // -f: new lines keep coming until the CLI is stopped.
    const follow = spawn('docker', ['logs', '-f', '--tail', '0', 'ticker'], { env: world.docker.env() });
    let seen = '';
    follow.stdout.on('data', (b: Buffer) => (seen += b.toString()));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (seen.split('\n').filter(Boolean).length >= 3) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    follow.kill();
    assert.match(seen, /^tick \d+\ntick \d+\ntick \d+/);
  });

  it('exec runs beside the process, with its exit code; -it under a pseudo-terminal', async () => {
    assert.equal(await line(['exec', 'web', 'sh', '-c', 'echo "$GREETING"']), 'hi there');
    const failed = await world.docker.run(['exec', 'web', 'sh', '-c', 'exit 4']);
    assert.equal(failed.code, 4);
    const piped = await world.docker.run(['exec', '-i', 'web', 'sh', '-c', 'cat | wc -c'], { input: 'twelve bytes' });
    assert.equal(piped.stdout.trim(), '12');
    const r = spawnSync('script', ['-qec', `docker exec -it web sh -c 'tty; exit 6'`, '/dev/null'], { env: world.docker.env(), encoding: 'utf8', timeout: 60_000, input: '' });
    assert.equal(r.status, 6, r.stdout + r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    const missing = await world.docker.run(['exec', 'nosuch', 'true']);
    assert.match(missing.stderr, /No such container: nosuch/);
  });

  it('cp copies a file in and a directory out', async () => {
    const file = path.join(tmp, 'note.txt');
    writeFileSync(file, 'copied in\n');
    await docker(['cp', file, 'web:/tmp/note.txt']);
    assert.equal(await line(['exec', 'web', 'cat', '/tmp/note.txt']), 'copied in');
    await docker(['cp', 'web:/www', path.join(tmp, 'out')]);
    assert.equal(readFileSync(path.join(tmp, 'out', 'index.html'), 'utf8'), WEBAPP_PAGE);
    const missing = await world.docker.run(['cp', 'web:/no/such', tmp]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/no\/such in container web/);
  });

  it('top lists the processes and stats --no-stream gives figures', async () => {
    const top = await docker(['top', 'web']);
    assert.match(top, /^UID\s+PID\s+PPID/);
    assert.match(top, /httpd -f -v -p 80 -h \/www/);
    const aux = (await docker(['top', 'web', 'aux'])).trim().split('\n');
    assert.match(aux[0]!, /^USER\s+PID\s+%CPU\s+%MEM\s+VSZ\s+RSS\s+TTY\s+STAT\s+START\s+TIME\s+COMMAND$/);
    assert.match(aux.at(-1)!, /^root\s+\d+\s+-\s+-\s+-\s+\d+\s+\?\s+-\s+-\s+\d\d:\d\d:\d\d\s+httpd -f/);
    assert.match(await docker(['top', 'web', '-o', 'pid,comm=NAME']), /^PID\s+NAME\n\d+\s+httpd\n$/);
    const bad = await world.docker.run(['top', 'web', '-o', 'pid,nice']);
    assert.match(bad.stderr, /ps field "nice" is not supported by Hearth's top/);
    const stats = await line(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}}', 'web']);
    assert.match(stats, /^web \d+\.\d+% \d+(\.\d+)?[KMG]i?B \/ \d+(\.\d+)?[KMG]i?B$/);
  });

  it('the lifecycle: pause, unpause, stop, start, restart, kill, wait, update, rename, rm -f', async () => {
    await docker(['pause', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.State.Status}} {{.State.Paused}}', 'ticker']), 'paused true');
    assert.match(await line(['ps', '--format', '{{.Status}}', '--filter', 'name=ticker']), /\(Paused\)$/);
    const pausedAgain = await world.docker.run(['pause', 'ticker']);
    assert.match(pausedAgain.stderr, /is already paused/);
    await docker(['unpause', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.State.Status}}', 'ticker']), 'running');
    await docker(['stop', '-t', '1', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.State.Status}} {{.State.Running}}', 'ticker']), 'exited false');
    // sh ends on the SIGTERM a stop sends: 128 + 15.
    assert.equal(await line(['wait', 'ticker']), '143');
    await docker(['start', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.State.Status}}', 'ticker']), 'running');
    await docker(['restart', '-t', '1', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.State.Status}}', 'ticker']), 'running');
    const waiting = world.docker.run(['wait', 'ticker']);
    await docker(['kill', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.State.Status}}', 'ticker']), 'exited', 'a SIGKILL is answered once the process is gone');
    assert.equal((await waiting).stdout.trim(), '137');
    const notRunning = await world.docker.run(['kill', 'ticker']);
    assert.match(notRunning.stderr, /is not running/);
    // update: memory and CPUs while it is not running; the restart policy in any state
    await docker(['update', '--memory', '300m', '--cpus', '1', 'ticker']);
    assert.equal(await line(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', 'ticker']), `${300 * 2 ** 20} 1000000000`);
    await docker(['rename', 'ticker', 'tocker']);
    assert.equal(await line(['ps', '-a', '--format', '{{.Names}}', '--filter', 'name=tocker']), 'tocker');
    await docker(['start', 'tocker']);
    await docker(['update', '--restart', 'on-failure:4', 'tocker']);
    assert.equal(await line(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'tocker']), 'on-failure 4');
    const live = await world.docker.run(['update', '--memory', '400m', 'tocker']);
    assert.match(live.stderr, /Cannot update the memory or CPUs of container tocker while it runs/);
    const shares = await world.docker.run(['update', '--cpu-shares', '512', 'tocker']);
    assert.match(shares.stderr, /CpuShares cannot be updated by Hearth/);
    const refused = await world.docker.run(['rm', 'tocker']);
    assert.match(refused.stderr, /cannot remove container "\/tocker": container is running: stop the container before removing or force remove/);
    await docker(['rm', '-f', 'tocker']);
    assert.equal(await line(['ps', '-aq', '--filter', 'name=tocker']), '');
  });

  it('--restart on-failure restarts a failing process up to its limit, restarting in between as docker ps shows it', async () => {
    await docker(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
    const deadline = Date.now() + 120_000;
    let state = '';
    const restarting = new Set<string>();
    while (Date.now() < deadline) {
      state = await line(['inspect', '--format', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'flaky']);
      if (state.startsWith('2 exited')) break;
      if (/^\d restarting/.test(state)) {
        restarting.add(await line(['inspect', '--format', '{{.State.Restarting}} {{.State.Running}}', 'flaky']));
        // Not -a: Docker lists a restarting container among the running ones.
        restarting.add(await line(['ps', '--filter', 'name=flaky', '--filter', 'status=restarting', '--format', '{{.Status}}']));
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(state, '2 exited 3 on-failure 2');
    const seen = [...restarting];
    assert.ok(seen.includes('true true'), `inspect while restarting: ${seen.join(' | ')}`);
    assert.ok(seen.some((s) => /^Restarting \(3\) \d+ seconds? ago$|^Restarting \(3\) Less than a second ago$/.test(s)), `docker ps while restarting: ${seen.join(' | ')}`);
    await docker(['rm', 'flaky']);
  });

  it('docker stop of a restarting container cancels its restart, as dockerd', async () => {
    await docker(['run', '-d', '--name', 'looping', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1']);
    const deadline = Date.now() + 120_000;
    let state = '';
    while (Date.now() < deadline && !(state = await line(['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 'looping'])).startsWith('restarting')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(state, /^restarting \d+$/);
    const rm = await world.docker.run(['rm', 'looping']);
    assert.notEqual(rm.code, 0, 'a restarting container needs rm -f');
    assert.match(rm.stderr, /container is restarting/);
    await docker(['stop', 'looping']);
    const count = state.split(' ')[1];
    // Past the 2 s backoff, then 4 s: a restart still pending would have run.
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(await line(['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 'looping']), `exited ${count}`);
    await docker(['rm', 'looping']);
  });

  it('--dns-search and --dns-option write resolv.conf; --stop-signal and --stop-timeout are what docker stop sends and waits', async () => {
    const resolv = await docker(['run', '--rm', '--dns', '10.9.9.9', '--dns-search', 'corp.example', '--dns-option', 'ndots:2', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.equal(resolv, 'nameserver 10.9.9.9\nsearch corp.example\noptions ndots:2\n');
    await docker(['run', '-d', '--name', 'graceful', '--stop-signal', 'SIGUSR1', '--stop-timeout', '30', 'busybox', 'sh', '-c', "trap 'echo got USR1; exit 7' USR1; echo ready; while true; do sleep 0.1; done"]);
    assert.equal(await line(['inspect', '--format', '{{.Config.StopSignal}} {{.Config.StopTimeout}}', 'graceful']), 'SIGUSR1 30');
    for (let i = 0; i < 100 && !(await docker(['logs', 'graceful'])).includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
    await docker(['stop', 'graceful']);
    assert.equal(await line(['inspect', '--format', '{{.State.ExitCode}}', 'graceful']), '7', 'the trap ran: USR1, not SIGKILL');
    assert.match(await docker(['logs', 'graceful']), /got USR1/);
    await docker(['rm', 'graceful']);
  });

  it('a client that leaves an exec\'s output unread is cut off before the manager holds more than 32 MiB of it', { timeout: 300_000 }, async () => {
    await docker(['run', '-d', '--name', 'flood', 'busybox', 'sleep', '3600']);
    const exec = JSON.parse(await dockerApi(world.docker.socket, 'POST', '/containers/flood/exec', { Cmd: ['cat', '/dev/zero'], AttachStdout: true }));
    assert.match(exec.Id ?? '', /^[0-9a-f]{64}$/, JSON.stringify(exec));
    const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const req = http.request({ socketPath: world.docker.socket, method: 'POST', path: `/exec/${exec.Id}/start`, headers: { 'content-type': 'application/json', connection: 'Upgrade', upgrade: 'tcp' } });
      req.once('upgrade', (_res, s) => resolve(s));
      req.once('response', (res) => reject(new Error(`exec start answered ${res.statusCode} without upgrading`)));
      req.once('error', reject);
      req.end(JSON.stringify({ Detach: false, Tty: true }));
    });
    socket.pause();
    const before = (await residentBytes(world.manager.pid))!;
    // The output piles up in the manager while the client reads nothing, until the cut.
    const deadline = Date.now() + 180_000;
    while ((await residentBytes(world.manager.pid))! - before < 40 * 2 ** 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    let received = 0;
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (b: Buffer) => (received += b.length));
    socket.resume();
    // cat /dev/zero never ends: only the cut ends this stream.
    await ended;
    assert.ok(received < 48 * 2 ** 20, `${received} bytes reached the client`);
    assert.equal(await line(['exec', 'flood', 'echo', 'still here']), 'still here');
    await docker(['rm', '-f', 'flood']);
  });

  it('--memory is the container\'s limit: going over it is an OOM kill (OOMKilled=true, 137)', async () => {
    const r = await world.docker.run(['run', '--name', 'hog', '--memory', '24m', 'busybox', 'sh', '-c', 'x=a; while true; do x="$x$x"; done']);
    assert.equal(r.code, 137, r.stderr);
    assert.equal(await line(['inspect', '--format', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}', 'hog']), `true 137 ${24 * 1024 * 1024}`);
    await docker(['rm', 'hog']);
  });

  it('rm -f removes running containers and leaves nothing behind', async () => {
    await docker(['rm', '-f', 'web']);
    assert.equal(await line(['ps', '-aq']), '');
    await assertNoLeaks(world);
  });
});
