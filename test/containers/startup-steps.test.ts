/**
 * Every start logs where its time went (`container started`, `startup_ms`): the containers layer's steps
 * (the image, volumes, network and writable layer at once, then the rest in turn) and the launch's own, each
 * a number of milliseconds; bench:api reads them.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { join } from 'node:path';
import { Gate } from './fakes.ts';
import { create, getItem, harness, waitFor, type Harness } from './harness.ts';

describe('startup steps', () => {
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    h = await harness({ logger: pino({ level: 'info' }, sink) });
  });
  after(() => h.close());

  it('logs each step of create -> running, the launch steps included, with the total', async () => {
    const id = await create(h.app, { name: 'timed', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
    const started = lines.find((l) => l.msg === 'container started' && l.container === id);
    assert.ok(started, 'a container started line');
    const steps = started.startup_ms as Record<string, number>;
    const inTurn = ['prepared', 'spec', 'scratch', 'vmm', 'connect', 'hello', 'process', 'ports'];
    assert.deepEqual(Object.keys(steps), ['image', 'network', 'layer', 'volumes', ...inTurn], 'in the order they began');
    for (const ms of Object.values(steps)) assert.ok(typeof ms === 'number' && ms >= 0);
    const total = started.total_ms as number;
    const sum = (keys: string[]) => keys.reduce((a, k) => a + steps[k]!, 0);
    assert.ok(total >= sum(inTurn) - 1, 'the steps in turn add up to no more than the total');
    for (const k of ['network', 'layer']) assert.ok(steps[k]! <= steps.prepared! + 0.1, `${k} ends within prepared`);
    assert.ok(sum(['image', 'volumes']) <= steps.prepared! + 0.2, 'image then volumes end within prepared');
  });

  it('makes the address and tap and the writable layer while the image is still being resolved', async () => {
    const gate = new Gate();
    h.images.gate = gate;
    const launched = h.launcher.launched;
    try {
      const id = await create(h.app, { name: 'together', image: 'sleeper:1' });
      const layer = join(h.dir, 'containers', id, 'writable-layer.ext4');
      const vm = (await getItem(h.app, id)).container_runtime_id.slice(3);
      const until = Date.now() + 30_000;
      while (!(h.writableLayers.ensured.includes(layer) && [...h.network.taps.values()].includes(vm))) {
        assert.ok(Date.now() < until, 'the tap and the layer came while the image was held');
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(gate.reached, 1, 'the image is being resolved meanwhile');
      assert.equal(h.launcher.launched, launched, 'and nothing is launched before it is');
      gate.open();
      await waitFor(h.app, id, 'running');
    } finally {
      gate.open();
      h.images.gate = undefined;
    }
  });
});
