/**
 * A start searches for what an earlier run of the container's VM left (`Run.releaseRemains`: on the real
 * host a pass or two over /proc) only when something may be left: not for a new container, nor after a
 * clean release by this manager; but after a release that failed, and at the first start after a restart.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Gate } from './fakes.ts';
import { create, harness, waitFor, type Harness } from './harness.ts';

const vmOf = (item: { container_runtime_id: string }) => item.container_runtime_id.slice(3);

describe('the search for what an earlier run left', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function restart(id: string, app: Harness['app']) {
    const stop = await app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.statusCode, 200, stop.body);
    const start = await app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(start.statusCode, 200, start.body);
    return waitFor(app, id, 'running');
  }

  it('is skipped for a new VM and after a clean release, done after a failed one and at the first start after a manager restart', async () => {
    h = await harness();
    const id = await create(h.app, { name: 'settled', image: 'sleeper:1' });
    const vm = vmOf(await waitFor(h.app, id, 'running'));
    assert.deepEqual(h.launcher.purged, [], 'a new VM id: nothing to search for');

    await restart(id, h.app);
    assert.deepEqual(h.launcher.purged, [], 'released cleanly: nothing to search for');

    h.launcher.failRelease = 'its VMM outlived SIGKILL';
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stop.statusCode, 200, stop.body);
    assert.ok(h.launcher.runDirs.has(vm), 'the failed release left the run directory');
    h.launcher.failRelease = undefined;
    const start = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(start.statusCode, 200, start.body);
    await waitFor(h.app, id, 'running');
    assert.deepEqual(h.launcher.purged, [vm], 'after a failed release the start searched, and purged');

    // A manager that did not release the VM itself searches once; one that adopted it and released it does not.
    const stopped = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
    assert.equal(stopped.statusCode, 200, stopped.body);
    const { dir, launcher } = h;
    await h.close(false);
    h = await harness({ dir, launcher });
    launcher.purged.length = 0;
    const again = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(again.statusCode, 200, again.body);
    await waitFor(h.app, id, 'running');
    assert.deepEqual(launcher.purged, [vm], 'the first start after a manager restart searches');
    await h.close(false);
    h = await harness({ dir, launcher });
    await waitFor(h.app, id, 'running');
    await restart(id, h.app);
    assert.deepEqual(launcher.purged, [vm], 'a VM adopted and released cleanly leaves nothing to search for');
  });

  it('is done after a launch that returned late and whose VM could not be ended', async () => {
    h = await harness({ config: { timeouts: { imageMs: 2000, networkMs: 2000, bootMs: 30, startMs: 5000, stopGraceMs: 1000 } } });
    const gate = new Gate();
    h.launcher.launchGate = gate;
    const id = await create(h.app, { name: 'late', image: 'sleeper:1' });
    const vm = vmOf(await waitFor(h.app, id, 'error'));
    h.launcher.launchGate = undefined;
    h.launcher.failRelease = 'its VMM outlived SIGKILL';
    h.launcher.purged.length = 0;
    gate.open(); // the launch returns now; its undo ends the VM but cannot release it
    while (h.launcher.vms.get(vm)?.alive !== false) await new Promise((r) => setTimeout(r, 2));
    h.launcher.failRelease = undefined;
    const start = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
    assert.equal(start.statusCode, 200, start.body);
    await waitFor(h.app, id, 'running');
    assert.deepEqual(h.launcher.purged, [vm], 'the start searched for what the late launch left');
  });
});
