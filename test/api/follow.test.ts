/**
 * Log follows and shutdown over a real socket: what `inject` cannot show (headers on the wire, a client that
 * stops reading, `app.close()` waiting for open responses).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { Gate } from '../containers/fakes.ts';
import { create, harness, waitFor, type Harness } from '../containers/harness.ts';

async function listen(h: Harness): Promise<string> {
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
}

/** Resolves with `what` if `p` settles within `ms`, else with 'timed out'. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([p, sleep(ms, 'timed out' as const, { ref: false })]);
}

function get(url: string): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.get(url, { agent: false });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  return { req, response };
}

describe('log follows and shutdown', () => {
  it('a follow on a quiet container sends its headers at once', async () => {
    const h = await harness();
    const id = await create(h.app, { name: 'quiet', image: 'sleeper:1' });
    await waitFor(h.app, id, 'running');
    const base = await listen(h);
    const { req, response } = get(`${base}/v1/containers/${id}/logs?follow=true`);
    try {
      const res = await within(response, 1000);
      assert.notEqual(res, 'timed out', 'no headers before the first line');
      const r = res as http.IncomingMessage;
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-type'], 'application/x-ndjson');
    } finally {
      req.destroy();
      await h.close();
    }
  });

  it('shutdown ends an open follow instead of waiting for it', async () => {
    const h = await harness();
    const id = await create(h.app, { name: 'followed', image: 'printer:1' });
    await waitFor(h.app, id, 'running');
    const base = await listen(h);
    const { req, response } = get(`${base}/v1/containers/${id}/logs?follow=true&format=text`);
    try {
      const res = await response;
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      const ended = new Promise((r) => res.once('end', r));
      assert.equal(await within(h.app.close(), 2000), undefined, 'app.close() waited for the follow');
      await ended;
      assert.equal(body, 'line1\nline2\nline3\n');
    } finally {
      req.destroy();
      await h.close();
    }
  });

  it('shutdown interrupts a start that is provisioning instead of waiting for it (503)', async () => {
    const h = await harness();
    const id = await create(h.app, { name: 'slow-start', image: 'ok:1' });
    await waitFor(h.app, id, 'exited');
    const gate = new Gate();
    h.images.gate = gate;
    const base = await listen(h);
    const req = http.request(`${base}/v1/containers/${id}/start`, { method: 'POST', agent: false });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.once('error', reject).once('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d)).once('end', () => resolve({ status: res.statusCode!, body }));
      });
    });
    req.end();
    try {
      while (gate.reached === 0) await sleep(1);
      assert.equal(await within(h.app.close(), 2000), undefined, 'app.close() waited for the start');
      const res = await response;
      assert.equal(res.status, 503, res.body);
      assert.equal(JSON.parse(res.body).error.code, 'HEARTH_ERR_SHUTTING_DOWN');
    } finally {
      gate.open();
      req.destroy();
      await h.close();
    }
  });

  it('a follower that stops reading is dropped once too much waits for it', async () => {
    const h = await harness({ config: { logs: { maxBytes: 4 * 1024 * 1024 } } });
    const id = await create(h.app, { name: 'chatty', image: 'sleeper:1' });
    const item = await waitFor(h.app, id, 'running');
    const vm = h.launcher.vms.get(item.container_runtime_id.slice(3))!;
    const base = await listen(h);
    const { req, response } = get(`${base}/v1/containers/${id}/logs?follow=true&format=text`);
    vm.emit('output', { stream: 'stdout', timestamp: new Date(), data: Buffer.from('first\n') });
    try {
      const res = await response;
      res.pause(); // the client reads nothing more, so the kernel's buffers fill and then the manager's
      const line = Buffer.from('x'.repeat(64 * 1024 - 1) + '\n');
      let sent = 0;
      while (sent < 24 * 1024 * 1024) {
        vm.emit('output', { stream: 'stdout', timestamp: new Date(), data: line });
        sent += line.length;
        if (sent % (16 * line.length) === 0) await tick();
      }
      // A paused client cannot see the connection end; reading again, it finds the response cut short.
      let received = 0;
      const closed = new Promise((r) => res.once('close', r));
      res.on('error', () => {});
      res.on('data', (d: Buffer) => (received += d.length));
      res.resume();
      assert.notEqual(await within(closed, 3000), 'timed out', 'the follower was never disconnected');
      assert.equal(res.complete, false, 'the response was cut, not ended as if the process had ended');
      assert.ok(received < sent / 2, `received ${received} of ${sent} bytes`);
      // The container itself is untouched.
      assert.equal((await h.app.inject({ url: `/v1/containers/${id}` })).json().item.state, 'running');
    } finally {
      req.destroy();
      await h.close();
    }
  });
});
