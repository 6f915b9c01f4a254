/**
 * The events stream through a real manager and real VMs: a client that subscribes with `since` before a
 * container is created sees every transition of it once, in order, across a kill -9 of the manager and its
 * restart (resuming with `after`), and `wait` answers with the exit code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

interface StreamedEvent {
  id: number;
  container_id: string;
  type: string;
  from_state: string | null;
  to_state: string | null;
}

/** Reads NDJSON events until the connection ends (a killed manager ends it) or `stop` aborts it. */
function subscribe(url: string, seen: StreamedEvent[], stop: AbortSignal): Promise<void> {
  return (async () => {
    try {
      const r = await fetch(url, { signal: stop, headers: { accept: 'application/x-ndjson' } });
      let pending = '';
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        pending += Buffer.from(chunk).toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines.filter(Boolean)) seen.push(JSON.parse(line));
      }
    } catch {
      // The manager was killed, or the test stopped listening.
    }
  })();
}

describe('events, end to end', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('delivers every transition once, in order, across a manager restart', async () => {
    const { api } = world;
    const seen: StreamedEvent[] = [];
    const first = new AbortController();
    const since = new Date(Date.now() - 1_000).toISOString();
    const listening = subscribe(`${api.url}/v1/events?since=${since}&type=state`, seen, first.signal);
    await new Promise((r) => setTimeout(r, 200));
    const id = await api.create({ name: 'watched', image: 'busybox:latest', args: ['sleep', '600'] });
    await api.waitFor(id, ['running']);

    await world.manager.kill9();
    await listening;
    const lastId = seen.at(-1)!.id;
    await world.restart();
    const second = new AbortController();
    const resumed = subscribe(`${api.url}/v1/events?after=${lastId}&type=state`, seen, second.signal);
    await api.waitFor(id, ['running']);
    const waited = api.call('POST', `/v1/containers/${id}/wait?condition=not-running`);
    assert.equal((await api.call('POST', `/v1/containers/${id}/stop?timeout=1`)).status, 200);
    assert.equal((await waited).body.exit_code, 143, 'sleep dies of the stop signal (SIGTERM): 128+15');
    const deadline = Date.now() + 30_000;
    while (!seen.some((e) => e.container_id === id && e.to_state === 'stopped')) {
      assert.ok(Date.now() < deadline, 'the stop reached the stream');
      await new Promise((r) => setTimeout(r, 100));
    }
    second.abort();
    await resumed;

    const mine = seen.filter((e) => e.container_id === id);
    const ids = mine.map((e) => e.id);
    assert.deepEqual(ids, [...new Set(ids)].sort((a, b) => a - b), 'each once, in the order written');
    assert.deepEqual(
      mine.map((e) => e.to_state),
      ['creating', 'booting', 'initializing', 'running', 'recovering', 'running', 'stopped'],
    );
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });
});
