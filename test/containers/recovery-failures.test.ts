/**
 * Recovery when something fails on the way: a sweep that breaks, a container whose recovery throws, and
 * commands that arrive while a VM is paused or silent. No container may stay `recovering`, and `stopped`
 * must mean its VM is gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HearthError } from '../../src/errors.ts';
import { assertNothingHeld, create, getItem, harness, waitFor, type Harness } from './harness.ts';

async function restartWith(h1: Harness, prepare: (h: Harness) => void, config?: Record<string, unknown>): Promise<Harness> {
  await h1.close(false);
  h1.network.restartProcess();
  prepare(h1);
  return harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network, ...(config ? { config } : {}) });
}

describe('recovery when things fail', () => {
  it('a sweep that fails does not stop the containers from being recovered', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'swept', image: 'sleeper:1' });
    await waitFor(h1.app, id, 'running');
    const h2 = await restartWith(h1, (h) => {
      h.network.listTaps = async () => {
        throw new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', 'ip link show failed');
      };
    });
    try {
      assert.equal((await getItem(h2.app, id)).state, 'running');
    } finally {
      await h2.close();
    }
  });

  it('a container whose recovery throws is unresponsive, then recovered by a retry', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'reserve-fails', image: 'sleeper:1' });
    const before = await waitFor(h1.app, id, 'running');
    let failures = 2; // the start of recovery, then the container's own recovery
    const h2 = await restartWith(
      h1,
      (h) => {
        const reserve = h.network.reserve.bind(h.network);
        h.network.reserve = async (vm, a) => {
          if (failures-- > 0) throw new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', 'nft failed');
          return reserve(vm, a);
        };
      },
      { timeouts: { recoveryRetryMs: 50 } },
    );
    try {
      const item = await getItem(h2.app, id);
      assert.equal(item.state, 'unresponsive');
      const events = (await h2.store.listEvents(id)).map((e) => e.message ?? '');
      assert.ok(events.some((m) => m.startsWith('recovery failed: nft failed')), events.join(' | '));
      const back = await waitFor(h2.app, id, 'running');
      assert.equal(back.container_runtime_id, before.container_runtime_id);
      assert.equal(h2.launcher.launched, 1, 'the same VM, not a new one');
    } finally {
      await h2.close();
    }
  });

  it('stop on a container recovery could not take back ends its VM', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'stop-unrecovered', image: 'sleeper:1' });
    const item = await waitFor(h1.app, id, 'running');
    const vmId = item.container_runtime_id.slice(3);
    const h2 = await restartWith(h1, (h) => {
      h.network.reserve = async () => {
        throw new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', 'nft failed');
      };
    });
    try {
      assert.equal((await getItem(h2.app, id)).state, 'unresponsive');
      const stop = await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      assert.equal(stop.json().item.state, 'stopped');
      assert.equal(h2.launcher.vms.get(vmId)!.alive, false, 'its VM is gone');
      assertNothingHeld(h2);
    } finally {
      await h2.close();
    }
  });

  it('a refused start on a silent container keeps its retries going', async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'start-refused', image: 'sleeper:1' });
    const vmId = (await waitFor(h1.app, id, 'running')).container_runtime_id.slice(3);
    const h2 = await restartWith(
      h1,
      (h) => h.launcher.adoptFailures.set(vmId, new HearthError('Unavailable', 'HEARTH_ERR_AGENT_UNRESPONSIVE', 'silent')),
      { timeouts: { recoveryRetryMs: 50 } },
    );
    try {
      assert.equal((await getItem(h2.app, id)).state, 'unresponsive');
      const start = await h2.app.inject({ method: 'POST', url: `/v1/containers/${id}/start` });
      assert.equal(start.statusCode, 409);
      h2.launcher.adoptFailures.delete(vmId);
      await waitFor(h2.app, id, 'running');
    } finally {
      await h2.close();
    }
  });
});
