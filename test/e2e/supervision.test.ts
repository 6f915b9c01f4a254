/**
 * What a user of `docker run` expects of the manager, for real: env and args reach the process, restart
 * policies (and a user stop beating them), an unknown image failing cleanly, delete from every state,
 * and bad input refused with 400s that name the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

const sh = (script: string) => ['sh', '-c', script];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('supervision, end to end', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({ HEARTH_RESTART_BACKOFF_INITIAL_MS: '50', HEARTH_STOP_GRACE_MS: '3000' });
  });
  after(async () => {
    await world?.close();
  });

  it('passes env_vars and args to the process', async () => {
    const { api } = world;
    const id = await api.create({ name: 'envargs', image: 'busybox:latest', env_vars: { GREETING: 'hello from env' }, args: sh('echo "$GREETING"; echo "$0"') });
    const item = await api.waitFor(id, ['exited', 'error']);
    assert.equal(item.exit_code, 0, item.error_message);
    assert.deepEqual((await api.logs(id)).map((l) => l.message), ['hello from env', 'sh']);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('gives the guest its address from the pool and no listening socket, NIC and all', async () => {
    const { api } = world;
    const id = await api.create({
      name: 'netcheck',
      image: 'busybox:latest',
      args: sh('ip -4 -o addr show eth0 | awk "{print \\$4}"; ip route | grep default; cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 | grep -vc local_address'),
    });
    const item = await api.waitFor(id, ['exited', 'error']);
    assert.equal(item.exit_code, 1, 'grep -c found nothing: exit 1');
    const [cidr, route, sockets] = (await api.logs(id)).map((l) => l.message);
    assert.match(cidr!, /^10\.213\.\d+\.\d+\/22$/);
    assert.match(route!, /^default via 10\.213\.0\.1 dev eth0/);
    assert.equal(sockets, '0', 'no TCP or UDP socket in the guest, listening or not');
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('restarts on-failure up to its limit, keeps exit code and count', async () => {
    const { api } = world;
    const id = await api.create({ name: 'flaky', image: 'busybox:latest', args: sh('echo attempt; exit 3'), restart_policy: 'on-failure', restart_max_retries: 2 });
    const item = await waitUntil(api, id, (c) => c.state === 'exited' && c.restart_count === 2);
    assert.equal(item.exit_code, 3);
    await sleep(1000);
    const later = await api.get(id);
    assert.equal(later.restart_count, 2, 'no restart past the limit');
    assert.equal((await api.logs(id)).filter((l) => l.message === 'attempt').length, 3);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('does not restart with "no"', async () => {
    const { api } = world;
    const id = await api.create({ name: 'once', image: 'busybox:latest', args: sh('exit 1'), restart_policy: 'no' });
    const item = await api.waitFor(id, ['exited', 'error']);
    assert.equal(item.exit_code, 1);
    await sleep(1000);
    assert.equal((await api.get(id)).restart_count, 0);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('restarts "always" after a clean exit, and a user stop wins over it', async () => {
    const { api } = world;
    const id = await api.create({ name: 'forever', image: 'busybox:latest', args: sh('echo run; sleep 0.3; exit 0'), restart_policy: 'always' });
    await waitUntil(api, id, (c) => c.restart_count >= 2);
    await waitUntil(api, id, (c) => c.state === 'running');
    const stop = await api.call('POST', `/v1/containers/${id}/stop`);
    assert.equal(stop.status, 200, stop.text);
    const stopped = await api.get(id);
    assert.equal(stopped.state, 'stopped');
    await sleep(1500);
    const after = await api.get(id);
    assert.equal(after.state, 'stopped', 'the policy did not undo the stop');
    assert.equal(after.restart_count, stopped.restart_count);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });

  it('ends an unknown image in error, naming it, with nothing left behind', async () => {
    const { api } = world;
    const id = await api.create({ name: 'ghost', image: 'no-such-image:latest' });
    const item = await api.waitFor(id, ['error', 'running', 'exited']);
    assert.equal(item.state, 'error');
    assert.match(item.error_message, /no-such-image/);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });

  it('deletes from every state, including mid-provisioning, leaving nothing', async () => {
    const { api } = world;
    const script = sh('echo up; while true; do sleep 1; done');
    const provisioning = await api.create({ name: 'del-provisioning', image: 'busybox:latest', args: script });
    const early = await api.get(provisioning);
    assert.ok(['creating', 'booting', 'initializing'].includes(early.state), early.state);
    assert.equal((await api.call('DELETE', `/v1/containers/${provisioning}`)).status, 204);
    await assertNoLeaks(world);

    const running = await api.create({ name: 'del-running', image: 'busybox:latest', args: script });
    await api.waitFor(running, ['running']);
    const exited = await api.create({ name: 'del-exited', image: 'busybox:latest', args: sh('exit 0') });
    await api.waitFor(exited, ['exited']);
    const stopped = await api.create({ name: 'del-stopped', image: 'busybox:latest', args: script });
    await api.waitFor(stopped, ['running']);
    assert.equal((await api.call('POST', `/v1/containers/${stopped}/stop`)).status, 200);
    const failed = await api.create({ name: 'del-error', image: 'busybox:latest', args: ['no-such-program'] });
    const failedItem = await api.waitFor(failed, ['error', 'exited']);
    assert.match(failedItem.error_message ?? '', /no-such-program/);
    for (const id of [running, exited, stopped, failed]) {
      assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    }
    await assertNoLeaks(world);
  });

  it('follows logs live until the process ends; tail, stream and timestamps filter them', async () => {
    const { api } = world;
    const id = await api.create({ name: 'chatty', image: 'busybox:latest', args: sh('for i in 1 2 3 4 5; do echo line$i; echo err$i >&2; sleep 0.2; done') });
    const followed = await fetch(`${api.url}/v1/containers/${id}/logs?follow=true`);
    assert.equal(followed.status, 200);
    const items = (await followed.text()).trim().split('\n').map((l) => JSON.parse(l) as { stream: string; message: string; timestamp: string });
    assert.equal((await api.get(id)).state, 'exited', 'the stream ended with the process');
    const of = (stream: string) => items.filter((i) => i.stream === stream).map((i) => i.message);
    assert.deepEqual(of('stdout'), ['line1', 'line2', 'line3', 'line4', 'line5']);
    assert.deepEqual(of('stderr'), ['err1', 'err2', 'err3', 'err4', 'err5']);

    assert.deepEqual((await api.logs(id, '?tail=2&stream=stdout')).map((l) => l.message), ['line4', 'line5']);
    const text = await api.call('GET', `/v1/containers/${id}/logs?format=text&timestamps=true&stream=stderr`);
    const lines = text.text.trim().split('\n');
    assert.equal(lines.length, 5);
    for (const [n, line] of lines.entries()) assert.match(line, new RegExp(`^\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z err${n + 1}$`));
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('keeps the writable layer across stop and start, as Docker does', async () => {
    const { api } = world;
    const id = await api.create({ name: 'counter', image: 'busybox:latest', args: sh('n=$(cat /count 2>/dev/null || echo 0); echo "run $n"; echo $((n+1)) > /count') });
    await api.waitFor(id, ['exited']);
    const start = await api.call('POST', `/v1/containers/${id}/start`);
    assert.equal(start.status, 200, start.text);
    await api.waitFor(id, ['exited']);
    assert.deepEqual((await api.logs(id)).map((l) => l.message), ['run 0', 'run 1']);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });

  it('refuses malformed bodies with 400 naming the field, never 500', async () => {
    const { api } = world;
    const cases: Array<[unknown, RegExp]> = [
      [{ image: 'busybox:latest' }, /name/],
      [{ name: 5, image: 'busybox:latest' }, /name/],
      [{ name: 'x', image: 'busybox:latest', restart_policy: 'sometimes' }, /restart_policy/],
      [{ name: 'x', image: 'busybox:latest', args: 'echo' }, /args/],
      [{ name: 'x', image: 'busybox:latest', env_vars: { A: 1 } }, /env_vars/],
      [{ name: 'x'.repeat(10_000), image: 'busybox:latest' }, /name/],
      [{ name: 'x', image: 'busybox:latest', port_mappings: [{ container_port: 70000, host_port: 1 }] }, /container_port/],
      ['{"name": "x", "image": ', /body|JSON/i],
    ];
    for (const [body, field] of cases) {
      const r = await api.call('POST', '/v1/containers', body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${r.status} ${r.text}`);
      assert.match(r.text, field);
    }
    assert.equal((await api.call('GET', '/v1/containers/not-a-known-id')).status, 404);
    await assertNoLeaks(world);
  });
});

async function waitUntil(api: E2eEnv['api'], id: string, ok: (c: any) => boolean, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const item = await api.get(id);
    if (ok(item)) return item;
    if (Date.now() > deadline) throw new Error(`container never met the condition: ${JSON.stringify(item)}`);
    await sleep(100);
  }
}
