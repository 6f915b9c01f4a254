/**
 * Limits that agree end to end, with the real manager, registry and microVMs: a create of about 1 MB that
 * fits the guest's RUN message starts and its process sees every byte of its args; one over it, under the
 * body limit, is a 400 naming the field (create and update); an image whose own config cannot fit fails
 * at once, on the host, before any VM boots.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { busyboxEntries } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { vmmsUnder } from '../helpers/vmm-processes.ts';

await enterTestNetns(import.meta.url);

describe('RUN message limits, end to end', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv({}, async (registry) => {
      // Its own Env takes about 1.1 MB: no request could make it fit.
      const Env = Array.from({ length: 40 }, (_, i) => `BIG_${i}=${'e'.repeat(28_000)}`);
      await pushImage(new Pusher(registry.url), 'library/bigenv', 'latest', [{ entries: busyboxEntries() }], { config: { Cmd: ['sh'], Env } });
      return {};
    });
  });
  after(async () => {
    await world?.close();
  });

  it('starts a create of about 1 MB (1000 args of 1000 bytes) and the process sees every arg', async () => {
    const { api } = world;
    const fillers = Array.from({ length: 997 }, (_, i) => `arg${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26))));
    const script = [
      'printf "%s\\n" "$0" "$@" | md5sum',
      'echo "count=$(($# + 1))"',
      'printf "%s\\n" "$0" "$@" | awk "{ print length(\\$0) }" | sort -u',
      'exec sleep 3600',
    ].join('; ');
    const args = ['sh', '-c', `${script} #`.padEnd(1000, 'x'), ...fillers];
    const body = { name: 'one-megabyte', image: 'busybox:latest', args };
    const bytes = Buffer.byteLength(JSON.stringify(body));
    assert.ok(bytes > 1_000_000 && bytes < 1024 * 1024, `a body of ${bytes} bytes`);
    const id = await api.create(body);
    const item = await api.waitFor(id, ['running', 'exited', 'error']);
    assert.equal(item.state, 'running', item.error_message);

    const md5 = createHash('md5').update(fillers.map((f) => `${f}\n`).join('')).digest('hex');
    const lines = await logLines(world, id, 3);
    assert.deepEqual(lines, [`${md5}  -`, 'count=997', '1000']);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it('refuses a create under the body limit but over the RUN message, and the same as an update (400 naming the field)', async () => {
    const { api } = world;
    const body = { name: 'too-big', image: 'busybox:latest', args: Array.from({ length: 1024 }, () => 'a'.repeat(1015)), env_vars: { BIG: 'e'.repeat(2800) } };
    assert.ok(Buffer.byteLength(JSON.stringify(body)) < 1024 * 1024);
    const refused = await api.call('POST', '/v1/containers', body);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.field, 'body/args');
    assert.match(refused.body.error.message, /too large for the guest/);

    const id = await api.create({ name: 'small', image: 'busybox:latest', args: ['true'] });
    assert.equal((await api.waitFor(id, ['exited', 'error'])).exit_code, 0);
    const update = await api.call('PUT', `/v1/containers/${id}`, { env_vars: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`V${i}`, 'v'.repeat(26_000)])) });
    assert.equal(update.status, 400, update.text);
    assert.equal(update.body.error.field, 'body/env_vars');
    const names = (await api.call('GET', '/v1/containers')).body.items.map((c: { name: string }) => c.name);
    assert.deepEqual(names, ['small']);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });

  it("fails an image whose own config cannot fit, on the host and before any VM boots", async () => {
    const { api } = world;
    const id = await api.create({ name: 'bigenv', image: 'bigenv:latest', args: ['true'] });
    const item = await api.waitFor(id, ['error', 'running', 'exited']);
    assert.equal(item.state, 'error');
    assert.match(item.error_message, /^the process cannot be sent to the guest: its RUN message would be \d+ bytes, over the guest protocol's limit of 1048576/);
    const events = (await api.call('GET', `/v1/containers/${id}/events`)).body.items;
    const states = events.filter((e: { type: string }) => e.type === 'state').map((e: { to_state: string }) => e.to_state);
    assert.deepEqual(states, ['creating', 'booting', 'error'], 'never initializing: no VM booted');
    assert.deepEqual(await vmmsUnder(world.dataDir), [], 'no VMM was started');
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});

/** The container's first `n` output lines, once it has written them. */
async function logLines(world: E2eEnv, id: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const lines = (await world.api.logs(id)).map((l) => l.message);
    if (lines.length >= n) return lines.slice(0, n);
    if (Date.now() > deadline) throw new Error(`container ${id} wrote ${JSON.stringify(lines)}, not ${n} lines`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
