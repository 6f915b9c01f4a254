/**
 * GET /v1/events: the backlog and live events with no gap and no repeat, since/until/after, filters, SSE,
 * and a subscriber that sees every transition once, in order, across a manager restart.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { create, harness, waitFor, type Harness } from '../containers/harness.ts';
import { deletedContainer } from '../../src/model/index.ts';
import { check, responseSchema } from './openapi-check.ts';

/** An NDJSON event stream over a real socket: its events as they come. */
async function follow(h: Harness, query: string) {
  if (!h.app.server.listening) await h.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  const req = http.get(`http://127.0.0.1:${port}/v1/events${query}`, { agent: false });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
  const events: any[] = [];
  const waiters: Array<() => void> = [];
  let rest = '';
  res.setEncoding('utf8').on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const l of lines) events.push(JSON.parse(l));
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<void>((r) => res.once('end', r));
  return {
    res,
    events,
    ended,
    close: () => req.destroy(),
    /** Resolves once an event satisfies `ok`. */
    async until(ok: (e: any) => boolean) {
      while (!events.some(ok)) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

const transitions = (events: any[], id: string) => events.filter((e) => e.container_id === id && e.type === 'state').map((e) => e.to_state);

describe('events API', () => {
  it('a subscriber from before a container exists sees every transition once, in order, then live ones', async () => {
    const h = await harness();
    try {
      const since = new Date(Date.now() - 1000).toISOString();
      const early = await create(h.app, { name: 'early', image: 'ok:1' });
      await waitFor(h.app, early, 'exited');
      const s = await follow(h, `?since=${since}`);
      assert.equal(s.res.statusCode, 200);
      assert.equal(s.res.headers['content-type'], 'application/x-ndjson');
      // Live, while the backlog was read: another container, and events written concurrently.
      const late = await create(h.app, { name: 'late', image: 'sleeper:1' });
      await waitFor(h.app, late, 'running');
      await h.app.inject({ method: 'POST', url: `/v1/containers/${late}/rename?name=later` });
      await h.app.inject({ method: 'POST', url: `/v1/containers/${late}/stop` });
      await s.until((e) => e.container_id === late && e.to_state === 'stopped');
      const lateRecord = (await h.store.getContainer(late))!;
      assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${late}` })).statusCode, 204);
      await s.until((e) => e.type === 'deleted');
      s.close();
      const deleted = s.events.find((e) => e.type === 'deleted');
      assert.deepEqual(
        [deleted.container_id, deleted.image, deleted.from_state, deleted.message],
        [null, 'sleeper:1', 'stopped', `deleted container later (${lateRecord.container_id})`],
        'a deletion stays in the log, naming the container',
      );
      assert.deepEqual(deletedContainer(deleted), { name: 'later', containerId: lateRecord.container_id });
      assert.equal((await h.store.listEvents(late)).length, 0, 'its own events went with it');
      assert.deepEqual(transitions(s.events, early), ['creating', 'booting', 'initializing', 'running', 'exited']);
      assert.deepEqual(transitions(s.events, late), ['creating', 'booting', 'initializing', 'running', 'stopped']);
      const ids = s.events.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in id order');
      assert.equal(new Set(ids).size, ids.length, 'no event twice');
      // Exactly the store's events, none missing (but those of the deleted container, gone with it).
      assert.deepEqual(s.events.filter((e) => e.container_id !== late).map((e) => e.id), (await h.store.listAllEvents({ since })).map((e) => e.id));
      assert.ok(s.events.some((e) => e.type === 'renamed'));
      assert.equal(s.events.find((e) => e.to_state === 'exited').exit_code, 0);
      assert.equal(s.events.find((e) => e.to_state === 'stopped').exit_code, 143);
      const schema = await responseSchema(h.app, 'GET', '/v1/events', 200, 'application/x-ndjson');
      for (const e of s.events) assert.deepEqual(check(schema, e), []);
    } finally {
      await h.close();
    }
  });

  it('until in the past: the backlog, then the end; filters by container (id or name) and type; after', async () => {
    const h = await harness();
    try {
      const a = await create(h.app, { name: 'a', image: 'ok:1' });
      const b = await create(h.app, { name: 'b', image: 'fail:1' });
      await waitFor(h.app, a, 'exited');
      await waitFor(h.app, b, 'exited');
      const now = new Date().toISOString();
      const get = async (q: string) => {
        const res = await h.app.inject({ url: `/v1/events${q}` });
        assert.equal(res.statusCode, 200, res.body);
        return res.body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      };
      const all = await get(`?until=${now}`);
      assert.deepEqual(all.map((e) => e.id), (await h.store.listAllEvents()).map((e) => e.id));
      const byName = await get(`?until=${now}&container=b&type=state`);
      assert.deepEqual(byName.map((e) => [e.container_id, e.to_state]), transitions(all, b).map((s) => [b, s]));
      const byId = await get(`?until=${now}&container=${a},${b}&type=state`);
      assert.equal(byId.length, transitions(all, a).length + transitions(all, b).length);
      const after = await get(`?until=${now}&after=${all[2].id}`);
      assert.deepEqual(after.map((e) => e.id), all.slice(3).map((e) => e.id));
      const resumed = await h.app.inject({ url: `/v1/events?until=${now}`, headers: { 'last-event-id': String(all[2].id) } });
      assert.equal(resumed.body.trim().split('\n').length, all.length - 3, 'Last-Event-ID resumes as after does');
      const future = await get(`?until=${now}&since=${Math.floor(Date.now() / 1000) + 60}`);
      assert.deepEqual(future, []);
      for (const [q, field] of [
        ['?type=nope', 'querystring/type'],
        ['?since=yesterday', 'querystring/since'],
        ['?until=soon', 'querystring/until'],
        ['?after=-1', 'querystring/after'],
        ['?colour=red', 'querystring'],
      ]) {
        const res = await h.app.inject({ url: `/v1/events${q}` });
        assert.equal(res.statusCode, 400, q);
        assert.ok(res.json().error.field.startsWith(field!), `${q}: ${res.body}`);
      }
    } finally {
      await h.close();
    }
  });

  it('as Server-Sent Events: id and data per event', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'sse', image: 'ok:1' });
      await waitFor(h.app, id, 'exited');
      const res = await h.app.inject({ url: `/v1/events?until=${new Date().toISOString()}&type=state`, headers: { accept: 'text/event-stream' } });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      const blocks = res.body.split('\n\n').filter(Boolean);
      const parsed = blocks.map((b) => {
        const m = /^id: (\d+)\ndata: (.*)$/.exec(b);
        assert.ok(m, b);
        const data = JSON.parse(m[2]!);
        assert.equal(data.id, Number(m[1]));
        return data.to_state;
      });
      assert.deepEqual(parsed, ['creating', 'booting', 'initializing', 'running', 'exited']);
    } finally {
      await h.close();
    }
  });

  it('a live stream with until ends when until has passed', async () => {
    const h = await harness();
    try {
      const s = await follow(h, `?until=${new Date(Date.now() + 50).toISOString()}`);
      await s.ended;
      assert.equal(s.res.complete, true, 'ended, not cut');
    } finally {
      await h.close();
    }
  });

  it('across a manager restart: every transition once, in order, backlog and live', async () => {
    const h1 = await harness();
    const since = new Date(Date.now() - 1000).toISOString();
    const id = await create(h1.app, { name: 'survivor', image: 'sleeper:1' });
    await waitFor(h1.app, id, 'running');
    const before = await follow(h1, `?since=${since}&container=survivor&type=state`);
    await before.until((e) => e.to_state === 'running');
    const closing = h1.close(false);
    await before.ended; // the manager's shutdown ends the stream
    await closing;
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network });
    try {
      const lastSeen = before.events.at(-1).id;
      const resumed = await follow(h2, `?after=${lastSeen}&container=${id}&type=state`);
      const full = await follow(h2, `?since=${since}&container=${id}&type=state`);
      await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      await resumed.until((e) => e.to_state === 'stopped');
      await full.until((e) => e.to_state === 'stopped');
      resumed.close();
      full.close();
      const expected = ['creating', 'booting', 'initializing', 'running', 'recovering', 'running', 'stopped'];
      assert.deepEqual(full.events.map((e) => e.to_state), expected);
      assert.deepEqual([...before.events, ...resumed.events].map((e) => e.to_state), expected, 'resumed with after: nothing missed, nothing twice');
      const ids = full.events.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    } finally {
      await h2.close();
    }
  });
});
