/**
 * Health checks run by the containers layer on the fakes (test/containers/fakes.ts: an exec `["exit", "n"]`
 * exits n, `["sleep"]` runs until signalled), with intervals of a few milliseconds: the schedule follows the
 * container through its states, a manager restart and a delete, and never runs two checks at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecSpec } from '../../src/sandbox/sandbox.ts';
import { FakeImages, type FakeSandbox } from './fakes.ts';
import { IMAGES, create, getItem, harness, waitFor, type Harness } from './harness.ts';

const CHECKED = {
  ...IMAGES,
  // The image's HEALTHCHECK: every 10 ms, passing.
  'checked:1': { cmd: ['sleep'], healthcheck: { test: ['CMD', 'exit', '0'], intervalNs: 10e6, timeoutNs: 0, startPeriodNs: 0, retries: 0 } },
};

const fast = { interval_s: 0.01 };
const healthEvents = async (h: Harness, id: string) =>
  (await h.store.listEvents(id)).filter((e) => e.type === 'health-status').map((e) => `${e.health_status}: ${e.message}`);
const vmOf = (h: Harness, item: { container_runtime_id: string }) => h.launcher.vms.get(item.container_runtime_id.slice(3)) as FakeSandbox;
const healthIs = (status: string) => (item: any) => item.health?.status === status;

describe('health checks (fakes)', () => {
  it("runs the image's HEALTHCHECK: starting, then healthy, with events", async () => {
    const h = await harness({ images: new FakeImages(CHECKED) });
    try {
      const id = await create(h.app, { name: 'imaged', image: 'checked:1' });
      const item = await waitFor(h.app, id, 'healthy', healthIs('healthy'));
      assert.equal(item.health.failing_streak, 0);
      assert.equal(item.health.log[0].exit_code, 0);
      assert.ok(Date.parse(item.health.log[0].end) >= Date.parse(item.health.log[0].start));
      assert.deepEqual((await healthEvents(h, id)).slice(0, 2), ['starting: health checks begin', 'healthy: health check passed']);
      assert.equal(item.healthcheck, null, "the request's own is null: the image's runs");
    } finally {
      await h.close();
    }
  });

  it('a request ["NONE"] disables the image check; a request field overrides the image one', async () => {
    const h = await harness({ images: new FakeImages(CHECKED) });
    try {
      const none = await create(h.app, { name: 'none', image: 'checked:1', healthcheck: { test: ['NONE'] } });
      const failing = await create(h.app, { name: 'failing', image: 'checked:1', healthcheck: { test: ['CMD', 'exit', '1'], retries: 2 } });
      const item = await waitFor(h.app, failing, 'unhealthy', healthIs('unhealthy'));
      assert.ok(item.health.failing_streak >= 2);
      assert.equal((await getItem(h.app, none)).health, null);
      assert.equal(vmOf(h, await getItem(h.app, none)).execs.length, 0, 'no check ran');
      assert.deepEqual((await getItem(h.app, none)).healthcheck, { test: ['NONE'] });
    } finally {
      await h.close();
    }
  });

  it('is unhealthy after exactly `retries` failures; the timeout kills the check and counts it (-1, Docker\'s message)', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'slow', image: 'sleeper:1', healthcheck: { test: ['CMD', 'sleep'], timeout_s: 0.02, retries: 3, ...fast } });
      const item = await waitFor(h.app, id, 'unhealthy', healthIs('unhealthy'));
      const events = await healthEvents(h, id);
      assert.equal(events[1], 'unhealthy: 3 health checks in a row failed (last: exit code -1)');
      const first = item.health.log[0];
      assert.deepEqual([first.exit_code, first.output], [-1, 'Health check exceeded timeout (20ms)']);
      const vm = vmOf(h, item);
      assert.ok(vm.execs.every((e) => e.signals.includes(9)), 'every timed-out check was killed');
    } finally {
      await h.close();
    }
  });

  it('never runs two checks at once, even when a check outlasts the interval', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'overlap', image: 'sleeper:1', healthcheck: { test: ['CMD', 'sleep'], timeout_s: 0.03, interval_s: 0.001 } });
      const vm = vmOf(h, await waitFor(h.app, id, 'running'));
      const running: number[] = [];
      const exec = vm.exec.bind(vm);
      vm.exec = (spec: ExecSpec) => {
        running.push(vm.execs.filter((e) => e.exit === undefined).length);
        return exec(spec);
      };
      await waitFor(h.app, id, 'checked', (i) => (i.health?.log.length ?? 0) >= 4);
      assert.ok(running.length >= 3);
      assert.deepEqual(running.filter((n) => n > 0), [], 'a check began while another ran');
    } finally {
      await h.close();
    }
  });

  it('stops with the container (unhealthy) and starts over with a new run (starting), keeping the log', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'cycle', image: 'sleeper:1', healthcheck: { test: ['CMD', 'exit', '0'], ...fast } });
      await waitFor(h.app, id, 'healthy', healthIs('healthy'));
      const stopped = (await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` })).json().item;
      const after = await waitFor(h.app, id, 'unhealthy', healthIs('unhealthy'));
      assert.equal(stopped.state, 'stopped');
      const logged = after.health.log.length;
      await sleep(50);
      assert.equal((await getItem(h.app, id)).health.log.length, logged, 'no check after the stop');
      await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
      const events = await healthEvents(h, id);
      assert.ok(events.includes('unhealthy: health checks stopped: the container is stopped'), events.join('\n'));
      const again = await waitFor(h.app, id, 'healthy again', (i) => i.health?.status === 'healthy' && i.health.log.length > logged);
      assert.equal(again.health.failing_streak, 0);
      assert.ok((await healthEvents(h, id)).slice(-2).join() === 'starting: health checks begin,healthy: health check passed');
    } finally {
      await h.close();
    }
  });

  it('pauses with the container and carries on when it is unpaused', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'pausing', image: 'sleeper:1', healthcheck: { test: ['CMD', 'exit', '0'], ...fast } });
      await waitFor(h.app, id, 'healthy', healthIs('healthy'));
      await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/pause` });
      const paused = await waitFor(h.app, id, 'unhealthy', healthIs('unhealthy'));
      await sleep(50);
      assert.equal((await getItem(h.app, id)).health.log.length, paused.health.log.length, 'no check while paused');
      await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/unpause` });
      await waitFor(h.app, id, 'healthy', healthIs('healthy'));
    } finally {
      await h.close();
    }
  });

  it('survives a manager restart: the state is kept and the checks carry on, without starting over', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'kept', image: 'sleeper:1', healthcheck: { test: ['CMD', 'exit', '0'], interval_s: 0.05 } });
    const before = await waitFor(h1.app, id, 'healthy', healthIs('healthy'));
    await h1.close(false);
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network, images: h1.images });
    try {
      const kept = await getItem(h2.app, id);
      assert.equal(kept.health.status, 'healthy');
      assert.ok(kept.health.log.length >= before.health.log.length);
      await waitFor(h2.app, id, 'checked again', (i) => Date.parse(i.health.log.at(-1).start) > Date.parse(kept.health.log.at(-1).start));
      const events = await healthEvents(h2, id);
      assert.deepEqual(events, ['starting: health checks begin', 'healthy: health check passed'], 'no new run, no stop');
    } finally {
      await h2.close();
    }
  });

  it('a run that ended while the manager was down reads unhealthy once the new manager finds it', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'ended', image: 'sleeper:1', healthcheck: { test: ['CMD', 'exit', '0'], ...fast } });
    const vm = vmOf(h1, await waitFor(h1.app, id, 'healthy', healthIs('healthy')));
    await h1.close(false);
    vm.finish({ code: 143, signal: 15 });
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network, images: h1.images });
    try {
      const item = await waitFor(h2.app, id, 'unhealthy', (i) => i.state === 'exited' && i.health?.status === 'unhealthy');
      assert.equal(item.exit_code, 143);
      assert.equal((await healthEvents(h2, id)).at(-1), 'unhealthy: health checks stopped: the container is exited');
    } finally {
      await h2.close();
    }
  });

  it('a deleted container is checked no more', async () => {
    const h = await harness();
    try {
      const id = await create(h.app, { name: 'gone', image: 'sleeper:1', healthcheck: { test: ['CMD', 'exit', '0'], ...fast } });
      const vm = vmOf(h, await waitFor(h.app, id, 'healthy', healthIs('healthy')));
      assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` })).statusCode, 204);
      const execs = vm.execs.length;
      await sleep(50);
      assert.equal(vm.execs.length, execs);
    } finally {
      await h.close();
    }
  });

  it('refuses a malformed healthcheck with a 400 naming the field', async () => {
    const h = await harness();
    try {
      const cases: Array<[unknown, string, RegExp]> = [
        [{ test: ['CMD'] }, 'body/healthcheck/test', /\["CMD", command, \.\.\.args\]/],
        [{ test: ['CMD-SHELL', 'a', 'b'] }, 'body/healthcheck/test', /CMD-SHELL/],
        [{ test: ['NONE', 'x'] }, 'body/healthcheck/test', /NONE/],
        [{ test: ['RUN', 'x'] }, 'body/healthcheck/test/0', /CMD, CMD-SHELL or NONE/],
        [{ interval_s: 0 }, 'body/healthcheck/interval_s', /from 0.001/],
        [{ retries: 0 }, 'body/healthcheck/retries', /from 1/],
        [{ start_period_s: -1 }, 'body/healthcheck/start_period_s', /from 0/],
        [{ timeout_s: 'x' }, 'body/healthcheck/timeout_s', /number/],
        [{ every: 1 }, 'body/healthcheck/every', /not a known field/],
      ];
      for (const [healthcheck, field, message] of cases) {
        const r = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { name: 'bad', image: 'sleeper:1', healthcheck } });
        assert.equal(r.statusCode, 400, JSON.stringify(healthcheck));
        assert.equal(r.json().error.field, field, JSON.stringify(healthcheck));
        assert.match(r.json().error.message, message);
      }
    } finally {
      await h.close();
    }
  });
});
