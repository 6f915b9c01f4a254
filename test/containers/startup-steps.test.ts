/**
 * Every start logs where its time went (`container started`, `startup_ms`): the containers layer's steps
 * and the launch's own, in order, each a number of milliseconds; bench:api reads them.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { create, harness, waitFor, type Harness } from './harness.ts';

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
    assert.deepEqual(Object.keys(steps), ['image', 'volumes', 'network', 'spec', 'scratch', 'vmm', 'connect', 'hello', 'process', 'ports']);
    for (const ms of Object.values(steps)) assert.ok(typeof ms === 'number' && ms >= 0);
    const total = started.total_ms as number;
    assert.ok(total >= Object.values(steps).reduce((a, b) => a + b, 0) - 1, 'the steps add up to no more than the total');
  });
});
