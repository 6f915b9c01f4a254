/**
 * `docker events` with the real CLI against a real manager: --since/--until over the one event log (image
 * pulls, tags and removals; a container's create, start, die, stop, rename, kill, exec, destroy, made
 * through /v1 as through Docker), Docker's fields and order, filters (labels too), and a live stream that
 * starts empty.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

interface Ev {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

describe('Docker API: docker events', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  const events = async (args: string[]) =>
    (await world.docker.ok(['events', '--format', '{{json .}}', ...args]))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Ev);

  it('replays a window of the log with --since and --until, in order, in Docker words', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    await world.docker.ok(['pull', '-q', 'busybox']);
    await world.docker.ok(['tag', 'busybox', 'mine:1']);
    await world.docker.ok(['rmi', 'mine:1']);
    const id = await world.api.create({ name: 'job', image: 'busybox', args: ['sh', '-c', 'exit 3'] });
    await world.api.waitFor(id, ['exited']);
    const c = await world.api.get(id);
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/start`)).status, 200);
    const sleeper = await world.api.create({ name: 'sleeper', image: 'busybox', args: ['sleep', '600'] });
    await world.api.waitFor(sleeper, ['running']);
    assert.equal((await world.api.call('POST', `/v1/containers/${sleeper}/rename?name=napper`)).status, 200);
    assert.equal((await world.api.call('POST', `/v1/containers/${sleeper}/stop`)).status, 200);
    const until = (Date.now() / 1000 + 0.001).toFixed(3);

    const all = await events(['--since', since, '--until', until]);
    const words = all.map((e) => `${e.Type} ${e.Action}${e.Actor.Attributes.exitCode ? ` ${e.Actor.Attributes.exitCode}` : ''}`);
    const job = all.filter((e) => e.Actor.ID === c.container_id).map((e) => `${e.Action}${e.Actor.Attributes.exitCode ? ` ${e.Actor.Attributes.exitCode}` : ''}`);
    assert.deepEqual(words.slice(0, 4), ['image pull', 'image tag', 'image untag', 'container create'], words.join(', '));
    assert.deepEqual(job, ['create', 'start', 'die 3', 'start', 'die 3']);
    const nap = all.filter((e) => e.Actor.Attributes.name === 'napper' || e.Actor.Attributes.name === 'sleeper').map((e) => e.Action);
    assert.deepEqual(nap, ['create', 'start', 'rename', 'kill', 'die', 'stop']);
    const created = all.find((e) => e.Actor.ID === c.container_id && e.Action === 'create')!;
    assert.deepEqual(created.Actor.Attributes, { image: 'busybox', name: 'job' });
    assert.equal(Math.floor(created.timeNano / 1e9), created.time);
    const times = all.map((e) => e.timeNano);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'oldest first');

    assert.deepEqual((await events(['--since', since, '--until', until, '--filter', 'type=image'])).map((e) => e.Action), ['pull', 'tag', 'untag']);
    assert.deepEqual((await events(['--since', since, '--until', until, '--filter', 'event=die', '--filter', 'container=job'])).map((e) => e.Actor.Attributes.exitCode), ['3', '3']);
    assert.deepEqual(await events(['--since', until, '--until', until]), [], 'a window with nothing in it');
    const bad = await world.docker.run(['events', '--since', since, '--until', until, '--filter', 'colour=red']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid filter 'colour'/);

    // A deleted container's events go with it (Hearth's log): its destroy stays.
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    const later = (Date.now() / 1000 + 0.001).toFixed(3);
    const afterDelete = await events(['--since', since, '--until', later, '--filter', `container=${c.container_id.slice(0, 12)}`]);
    assert.deepEqual(afterDelete.map((e) => [e.Action, e.Actor.Attributes.name, e.Actor.Attributes.image]), [['destroy', 'job', 'busybox']]);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${sleeper}`)).status, 204);
  });

  it('carries labels and execs as dockerd does, for containers made through the docker CLI', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    const id = (await world.docker.ok(['run', '-d', '--name', 'lab', '--label', 'team=ops', 'busybox', 'sleep', '600'])).trim();
    assert.equal((await world.docker.run(['exec', 'lab', 'sh', '-c', 'exit 4'])).code, 4);
    await world.docker.ok(['kill', 'lab']);
    await world.docker.ok(['wait', 'lab']);
    const until = (Date.now() / 1000 + 0.001).toFixed(3);
    const labelled = await events(['--since', since, '--until', until, '--filter', 'label=team=ops']);
    assert.deepEqual(
      labelled.map((e) => `${e.Action.replace(/^(exec_\w+):.*/, '$1')}${e.Actor.Attributes.exitCode ?? e.Actor.Attributes.signal ? ` ${e.Actor.Attributes.exitCode ?? e.Actor.Attributes.signal}` : ''}`),
      ['create', 'start', 'exec_create', 'exec_start', 'exec_die 4', 'kill 9', 'die 137'],
    );
    assert.ok(labelled.every((e) => e.Actor.ID === id && e.Actor.Attributes.team === 'ops'));
    const exec = labelled.find((e) => e.Action.startsWith('exec_start'))!;
    assert.equal(exec.Action, 'exec_start: sh -c exit 4');
    assert.match(exec.Actor.Attributes.execID!, /^[0-9a-f]+$/);
    const byEvent = await events(['--since', since, '--until', until, '--filter', 'event=exec_die']);
    assert.deepEqual(byEvent.map((e) => e.Actor.Attributes.name), ['lab']);
    await world.docker.ok(['rm', 'lab']);
    const later = (Date.now() / 1000 + 0.001).toFixed(3);
    const destroyed = await events(['--since', since, '--until', later, '--filter', 'event=destroy']);
    assert.deepEqual(destroyed.map((e) => e.Actor.ID), [id]);
  });

  it('reports volumes and networks made, joined and removed, filtered by type, volume and network', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    await world.docker.ok(['volume', 'create', 'evvol']);
    await world.docker.ok(['network', 'create', 'evnet']);
    await world.docker.ok(['create', '--name', 'evjoin', 'busybox', 'true']);
    await world.docker.ok(['network', 'connect', 'evnet', 'evjoin']);
    await world.docker.ok(['network', 'disconnect', 'evnet', 'evjoin']);
    await world.docker.ok(['rm', 'evjoin']);
    await world.docker.ok(['network', 'rm', 'evnet']);
    await world.docker.ok(['volume', 'rm', 'evvol']);
    const until = (Date.now() / 1000 + 0.001).toFixed(3);
    const volumes = await events(['--since', since, '--until', until, '--filter', 'type=volume', '--filter', 'volume=evvol']);
    assert.deepEqual(volumes.map((e) => [e.Action, e.Actor.ID]), [['create', 'evvol'], ['destroy', 'evvol']]);
    const networks = await events(['--since', since, '--until', until, '--filter', 'network=evnet']);
    assert.deepEqual(networks.map((e) => e.Action), ['create', 'connect', 'disconnect', 'destroy']);
    assert.match(networks[0]!.Actor.ID, /^[0-9a-f]{64}$/);
    assert.match(networks[1]!.Actor.Attributes.container ?? '', /^[0-9a-f]{64}$/);
    const window = `since=${new Date(Number(since) * 1000).toISOString()}&until=${new Date(Number(until) * 1000).toISOString()}`;
    const v1 = await (await fetch(`${world.api.url}/v1/events?${window}&type=volume-create,network-connect`)).text();
    assert.deepEqual(v1.trim().split('\n').map((l) => { const e = JSON.parse(l); return [e.type, e.volume, e.network]; }), [['volume-create', 'evvol', null], ['network-connect', null, 'evnet']]);
  });

  it('streams live events from now on when not given --since', async () => {
    const cli = spawn('docker', ['events', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'], { env: world.docker.env() });
    let out = '';
    cli.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      // the stream is open once the CLI has connected: a ping would not say so, so wait for an event that is sure to come
      const until = Date.now() + 30_000;
      let n = 0;
      while (!out.includes('image tag')) {
        assert.ok(Date.now() < until, `no live event arrived: ${out}`);
        await world.docker.ok(['tag', 'busybox', `live:${n++}`]);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(!out.includes('container'), 'nothing from before the stream opened');
      const id = await world.api.create({ name: 'live', image: 'busybox', args: ['true'] });
      await world.api.waitFor(id, ['exited']);
      while (!out.includes('container die live')) {
        assert.ok(Date.now() < until, `the container's events did not arrive: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(out, /container create live\ncontainer start live\ncontainer die live/);
      assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    } finally {
      cli.kill();
    }
  });
});
