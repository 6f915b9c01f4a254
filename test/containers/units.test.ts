import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HostContainerNetwork } from '../../src/assemble/container-network.ts';
import { LogStore } from '../../src/containers/log-store.ts';
import { AddressPool, type HostNetwork, type PortForwarder } from '../../src/network/index.ts';
import { nextDelay, shouldRestart } from '../../src/containers/restart-policy.ts';
import { KeyedQueue } from '../../src/containers/serial-queue.ts';
import { stopSignal } from '../../src/containers/stop-signal.ts';

describe('restart policy', () => {
  const table: Array<[string, Parameters<typeof shouldRestart>[0], boolean]> = [
    ['no, failure', { policy: 'no', maxRetries: null, exitCode: 1, restartCount: 0 }, false],
    ['always, success', { policy: 'always', maxRetries: null, exitCode: 0, restartCount: 100 }, true],
    ['on-failure, success', { policy: 'on-failure', maxRetries: 5, exitCode: 0, restartCount: 0 }, false],
    ['on-failure, failure under the limit', { policy: 'on-failure', maxRetries: 5, exitCode: 2, restartCount: 4 }, true],
    ['on-failure, failure at the limit', { policy: 'on-failure', maxRetries: 5, exitCode: 2, restartCount: 5 }, false],
    ['on-failure, no limit', { policy: 'on-failure', maxRetries: 0, exitCode: 2, restartCount: 1000 }, true],
    ['on-failure, VM died (no code)', { policy: 'on-failure', maxRetries: 5, exitCode: null, restartCount: 0 }, true],
  ];
  for (const [what, facts, want] of table) it(what, () => assert.equal(shouldRestart(facts), want));

  it('backoff doubles to the cap and resets after a long run', () => {
    const s = { backoffInitialMs: 100, backoffMaxMs: 1000, backoffResetMs: 10_000 };
    const seq: number[] = [];
    let d = 0;
    for (let i = 0; i < 6; i++) seq.push((d = nextDelay(d, 50, s)));
    assert.deepEqual(seq, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(nextDelay(1000, 10_000, s), 100);
  });
});

describe('serial queue', () => {
  it('runs tasks of one key one at a time in order, other keys concurrently, and survives failures', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const a1 = q.run('a', task('a1', 10, true));
    const a2 = q.run('a', task('a2', 1));
    const b1 = q.run('b', task('b1', 1));
    await assert.rejects(a1, /a1/);
    assert.equal(await a2, 'a2');
    assert.equal(await b1, 'b1');
    await q.idle();
    assert.ok(log.indexOf('end a1') < log.indexOf('start a2'));
    assert.ok(log.indexOf('start b1') < log.indexOf('end a1'), 'b does not wait for a');
  });
});

describe('log store', () => {
  const chunk = (text: string, stream: 'stdout' | 'stderr' = 'stdout', at = new Date()) => ({ stream, timestamp: at, data: Buffer.from(text) });

  it('splits lines, filters, survives a reopen, and caps its size by rotating one file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-logs-'));
    try {
      const logs = new LogStore(dir, 4096);
      logs.append('c1', chunk('a\nb\r\n'));
      logs.append('c1', chunk('err\n', 'stderr', new Date('2030-01-01T00:00:00Z')));
      logs.append('c1', chunk('no newline'));
      assert.deepEqual(logs.read('c1').map((e) => e.message), ['a', 'b', 'err', 'no newline']);
      assert.deepEqual(logs.read('c1').map((e) => e.crlf ?? false), [false, true, false, false], "a terminal's line end is remembered");
      assert.deepEqual(logs.read('c1', { stream: 'stderr' }).map((e) => e.message), ['err']);
      assert.deepEqual(logs.read('c1', { since: new Date('2029-12-31T00:00:00Z') }).map((e) => e.message), ['err']);
      assert.deepEqual(logs.read('c1', { tail: 2 }).map((e) => e.message), ['err', 'no newline']);
      assert.deepEqual(logs.read('c1', { tail: 0 }), []);
      logs.close();

      const again = new LogStore(dir, 4096);
      assert.equal(again.read('c1').length, 4, 'survives a new instance');
      assert.equal(again.read('c1')[1]!.crlf, true);
      for (let i = 0; i < 500; i++) again.append('c1', chunk(`line ${i} ${'x'.repeat(40)}\n`));
      const files = readdirSync(join(dir, 'c1')).sort();
      assert.deepEqual(files, ['output.ndjson', 'output.ndjson.1']);
      const total = files.reduce((n, f) => n + statSync(join(dir, 'c1', f)).size, 0);
      assert.ok(total <= 2 * 4096, `${total} bytes kept`);
      const kept = again.read('c1').map((e) => e.message);
      assert.match(kept.at(-1)!, /^line 499 /, 'newest kept');
      assert.ok(!kept.includes('a'), 'oldest dropped');
      again.remove('c1');
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follow gets new matching entries until end', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-logs-'));
    try {
      const logs = new LogStore(dir, 1 << 20);
      const got: string[] = [];
      let ended = 0;
      logs.follow('c', { stream: 'stdout' }, (e) => got.push(e.message), () => ended++);
      logs.append('c', chunk('one\n'));
      logs.append('c', chunk('skip\n', 'stderr'));
      logs.append('other', chunk('not mine\n'));
      logs.end('c');
      logs.append('c', chunk('after end\n'));
      assert.deepEqual(got, ['one']);
      assert.equal(ended, 1);
      logs.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stop signal', () => {
  it('from the image config, SIGTERM by default', () => {
    assert.deepEqual(['', 'SIGQUIT', 'INT', '9', 'SIGBOGUS'].map((n) => stopSignal(n)), [15, 3, 2, 9, 15]);
    assert.equal(stopSignal(undefined), 15);
  });
});

describe('host network adapter', () => {
  it('detach gives the address back even when deleting the tap fails', async () => {
    let failDelete = true;
    const host = {
      pool: new AddressPool('10.77.0.0/29'),
      createTap: async () => {},
      deleteTap: async () => {
        if (failDelete) throw new Error('ip link del: device busy');
      },
      listTaps: async () => [],
    } as unknown as HostNetwork;
    const net = new HostContainerNetwork(host, {} as PortForwarder);
    const a = await net.attach('vm-a');
    await assert.rejects(net.detach('vm-a', a), /device busy/);
    failDelete = false;
    const b = await net.attach('vm-b');
    assert.equal(b.guestIp, a.guestIp, 'the address is free again');
  });
});
