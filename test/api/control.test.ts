/**
 * kill, wait, rename, pause/unpause and top through the API, with the fakes: each route's answers, its 4xx,
 * the states it works from, and a user pause across a manager restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HearthError } from '../../src/errors.ts';
import { assertNothingHeld, create, getItem, harness, states, waitFor, type Harness } from '../containers/harness.ts';
import { conforms } from './openapi-check.ts';

const post = (h: Harness, url: string) => h.app.inject({ method: 'POST', url });
const vmOf = (h: Harness, item: { container_runtime_id: string }) => h.launcher.vms.get(item.container_runtime_id.slice(3))!;

/** Resolves once `n` listeners more than `before` are on the store's events (a wait has subscribed). */
async function subscribed(h: Harness, before: number): Promise<void> {
  while ((h.store as any).listeners.size <= before) await new Promise((r) => setImmediate(r));
}

describe('kill', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  it('sends SIGKILL by default; the process ends 137 and the state follows (exited, not stopped)', async () => {
    const id = await create(h.app, { name: 'k1', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    const res = await post(h, `/v1/containers/${id}/kill`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers/{id}/kill', res), []);
    const done = await waitFor(h.app, id, 'exited');
    assert.equal(done.exit_code, 137);
    assert.deepEqual(vmOf(h, item).signals, [9]);
    const kill = (await h.store.listEvents(id)).find((e) => e.type === 'kill');
    assert.equal(kill?.message, 'sent SIGKILL (9) to the process');
  });

  it("parses signals as Docker does: SIGTERM, TERM, term, 15", async () => {
    for (const signal of ['SIGTERM', 'TERM', 'term', '15', 'sigterm']) {
      const id = await create(h.app, { name: `k-${signal}`, image: 'sleeper:1' });
      await waitFor(h.app, id, 'running');
      assert.equal((await post(h, `/v1/containers/${id}/kill?signal=${signal}`)).statusCode, 200);
      assert.equal((await waitFor(h.app, id, 'exited')).exit_code, 143, signal);
    }
  });

  it('is not a user stop: the restart policy applies', async () => {
    const id = await create(h.app, { name: 'k-always', image: 'sleeper:1', restart_policy: 'always' });
    await waitFor(h.app, id, 'running');
    await post(h, `/v1/containers/${id}/kill`);
    const again = await waitFor(h.app, id, 'running', (i) => i.state === 'running' && i.restart_count === 1);
    assert.equal(again.restart_count, 1);
    await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` });
  });

  it('400 for a bad signal, 409 unless running, 404 unknown', async () => {
    const id = await create(h.app, { name: 'k-bad', image: 'ok:1' });
    for (const signal of ['0', '65', 'NOPE', 'SIG', '-9', '9x']) {
      const res = await post(h, `/v1/containers/${id}/kill?signal=${signal}`);
      assert.equal(res.statusCode, 400, signal);
      assert.equal(res.json().error.field, 'querystring/signal');
    }
    await waitFor(h.app, id, 'exited');
    const res = await post(h, `/v1/containers/${id}/kill`);
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'HEARTH_ERR_CONTAINER_STATE');
    assert.equal((await post(h, '/v1/containers/nope/kill')).statusCode, 404);
  });
});

describe('wait', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  it('not-running answers at once for a container that is not running', async () => {
    const id = await create(h.app, { name: 'w-done', image: 'fail:1' });
    await waitFor(h.app, id, 'exited');
    const res = await post(h, `/v1/containers/${id}/wait`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers/{id}/wait', res), []);
    assert.deepEqual(res.json(), { exit_code: 3 });
  });

  it('not-running waits for a running container to end', async () => {
    const id = await create(h.app, { name: 'w-run', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
    const n = (h.store as any).listeners.size;
    const waiting = post(h, `/v1/containers/${id}/wait?condition=not-running`);
    await subscribed(h, n);
    await post(h, `/v1/containers/${id}/kill?signal=TERM`);
    assert.deepEqual((await waiting).json(), { exit_code: 143 });
  });

  it('next-exit waits for the next run to end, not the last one', async () => {
    const id = await create(h.app, { name: 'w-next', image: 'fail:1' });
    await waitFor(h.app, id, 'exited');
    await h.app.inject({ method: 'PUT', url: `/v1/containers/${id}`, payload: { image: 'ok:1' } });
    const n = (h.store as any).listeners.size;
    const waiting = post(h, `/v1/containers/${id}/wait?condition=next-exit`);
    await subscribed(h, n);
    await post(h, `/v1/containers/${id}/start`);
    assert.deepEqual((await waiting).json(), { exit_code: 0 }, 'the run after the wait (exit 0), not the one before (3)');
  });

  it('removed waits for the deletion; an error run reports its error', async () => {
    const id = await create(h.app, { name: 'w-crash', image: 'crash:1' });
    const failed = await waitFor(h.app, id, 'error');
    const now = await post(h, `/v1/containers/${id}/wait`);
    assert.deepEqual(now.json(), { exit_code: null, error: { message: failed.error_message } });
    const n = (h.store as any).listeners.size;
    const waiting = post(h, `/v1/containers/${id}/wait?condition=removed`);
    await subscribed(h, n);
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` })).statusCode, 204);
    assert.deepEqual((await waiting).json(), { exit_code: null, error: { message: failed.error_message } });
  });

  it('400 for an unknown condition, 404 for an unknown container', async () => {
    const id = await create(h.app, { name: 'w-bad', image: 'ok:1' });
    const bad = await post(h, `/v1/containers/${id}/wait?condition=soon`);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.field, 'querystring/condition');
    assert.equal((await post(h, '/v1/containers/nope/wait')).statusCode, 404);
  });
});

describe('rename', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  it('renames in any state, refuses a taken or bad name', async () => {
    const a = await create(h.app, { name: 'first', image: 'sleeper:1' });
    await create(h.app, { name: 'taken', image: 'ok:1' });
    await waitFor(h.app, a, 'running');
    const res = await post(h, `/v1/containers/${a}/rename?name=second`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers/{id}/rename', res), []);
    assert.equal((await getItem(h.app, a)).name, 'second');
    assert.equal((await h.store.listEvents(a)).at(-1)?.message, 'renamed from first to second');
    const taken = await post(h, `/v1/containers/${a}/rename?name=taken`);
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().error.code, 'HEARTH_ERR_NAME_IN_USE');
    for (const name of ['', '-x', 'a b', 'x'.repeat(129)]) {
      const bad = await post(h, `/v1/containers/${a}/rename?name=${encodeURIComponent(name)}`);
      assert.equal(bad.statusCode, 400, name);
      assert.equal(bad.json().error.field, 'querystring/name');
    }
    assert.equal((await post(h, `/v1/containers/${a}/rename`)).statusCode, 400);
    assert.equal((await post(h, '/v1/containers/nope/rename?name=z')).statusCode, 404);
    // The old name is free again.
    assert.ok(await create(h.app, { name: 'first', image: 'ok:1' }));
  });
});

describe('pause, unpause and top', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  it("top lists the guest's processes as docker top does", async () => {
    const id = await create(h.app, { name: 'top', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
    const e = (await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/exec`, payload: { cmd: ['sleep'] } })).json().id;
    await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: { detach: true } });
    const res = await h.app.inject({ url: `/v1/containers/${id}/top` });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/containers/{id}/top', res), []);
    assert.deepEqual(res.json(), {
      titles: ['PID', 'PPID', 'USER', 'TIME', 'RSS', 'CMD'],
      processes: [
        ['1', '0', 'root', '00:01:01', '4096', 'sleep'],
        ['101', '1', 'root', '00:00:00', '1024', 'sleep'],
      ],
    });
    await post(h, `/v1/containers/${id}/stop`);
    assert.equal((await h.app.inject({ url: `/v1/containers/${id}/top` })).statusCode, 409);
    assert.equal((await h.app.inject({ url: '/v1/containers/nope/top' })).statusCode, 404);
  });

  it('pauses and unpauses; a paused container takes no exec, top, or second pause', async () => {
    const id = await create(h.app, { name: 'p1', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    const res = await post(h, `/v1/containers/${id}/pause`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers/{id}/pause', res), []);
    assert.equal(res.json().item.state, 'paused');
    assert.equal(vmOf(h, item).paused, true);
    assert.equal((await h.store.getVm(item.container_runtime_id.slice(3)))?.state, 'paused');
    for (const [method, url] of [['POST', `/v1/containers/${id}/pause`], ['GET', `/v1/containers/${id}/top`]] as const) {
      const r = await h.app.inject({ method, url });
      assert.equal(r.statusCode, 409, url);
    }
    assert.equal((await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/exec`, payload: { cmd: ['echo'] } })).statusCode, 409);
    const un = await post(h, `/v1/containers/${id}/unpause`);
    assert.equal(un.json().item.state, 'running');
    assert.equal(vmOf(h, item).paused, false);
    assert.equal((await post(h, `/v1/containers/${id}/unpause`)).statusCode, 409);
    assert.deepEqual((await states(h, id)).slice(-3), ['running', 'paused', 'running']);
  });

  it('stop resumes a paused container first, so the process gets its stop signal', async () => {
    const id = await create(h.app, { name: 'p-stop', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    await post(h, `/v1/containers/${id}/pause`);
    const stop = await post(h, `/v1/containers/${id}/stop`);
    assert.deepEqual([stop.json().item.state, stop.json().item.exit_code], ['stopped', 143]);
    assert.equal(vmOf(h, item).paused, false, 'resumed before the stop signal');
  });

  it('kill works from paused (resumed first), and so does delete', async () => {
    const a = await create(h.app, { name: 'p-kill', image: 'sleeper:1' });
    await waitFor(h.app, a, 'running');
    await post(h, `/v1/containers/${a}/pause`);
    assert.equal((await post(h, `/v1/containers/${a}/kill?signal=TERM`)).statusCode, 200);
    assert.equal((await waitFor(h.app, a, 'exited')).exit_code, 143);
    const b = await create(h.app, { name: 'p-del', image: 'sleeper:1' });
    await waitFor(h.app, b, 'running');
    await post(h, `/v1/containers/${b}/pause`);
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${b}` })).statusCode, 204);
    for (const c of (await h.app.inject({ url: '/v1/containers' })).json().items) await h.app.inject({ method: 'DELETE', url: `/v1/containers/${c.id}` });
    assertNothingHeld(h);
  });
});

describe('a user pause across a manager restart', () => {
  it('stays paused (no retry, no flapping), and unpauses afterwards', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'kept-paused', image: 'sleeper:1' });
    const item = await waitFor(h1.app, id, 'running');
    await post(h1, `/v1/containers/${id}/pause`);
    await h1.close(false);
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network, config: { timeouts: { recoveryRetryMs: 1 } } });
    try {
      assert.equal((await getItem(h2.app, id)).state, 'paused');
      assert.equal(vmOf(h2, item).paused, true, 'the VM was not resumed by the recovery');
      const events = (await h2.store.listEvents(id)).map((e) => e.to_state).filter(Boolean);
      assert.deepEqual(events.slice(-3), ['paused', 'recovering', 'paused']);
      const un = await post(h2, `/v1/containers/${id}/unpause`);
      assert.equal(un.statusCode, 200, un.body);
      assert.equal(un.json().item.state, 'running');
      assert.equal(vmOf(h2, item).paused, false);
    } finally {
      await h2.close();
    }
  });

  it('with a launcher that cannot adopt a paused VM, it is paused by user and tried again quietly', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'kept-paused-2', image: 'sleeper:1' });
    const item = await waitFor(h1.app, id, 'running');
    await post(h1, `/v1/containers/${id}/pause`);
    await h1.close(false);
    h1.network.restartProcess();
    const vmId = item.container_runtime_id.slice(3);
    h1.launcher.adoptFailures.set(vmId, new HearthError('Unavailable', 'HEARTH_ERR_VMM_PAUSED', 'the guest is paused'));
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network });
    try {
      const paused = await getItem(h2.app, id);
      assert.equal(paused.state, 'paused');
      assert.match((await h2.store.listEvents(id)).at(-1)!.message!, /^paused by user; reattaching/);
      const un = await post(h2, `/v1/containers/${id}/unpause`);
      assert.equal(un.statusCode, 409, 'not reattached yet');
      h2.launcher.adoptFailures.delete(vmId);
      const stop = await post(h2, `/v1/containers/${id}/stop`);
      assert.equal(stop.json().item.state, 'stopped');
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });
});
