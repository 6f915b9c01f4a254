/**
 * Slow clients over a real socket: a request that is not all sent within `listen.requestTimeoutMs` gets a
 * 408 and its connection closed, whether it dribbles its body or its headers, while a log follow (a long
 * response to a request received at once) stays open for as long as the container runs.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, harness, waitFor } from '../containers/harness.ts';

const TIMEOUT_MS = 1000;

interface Slow {
  /** Everything the server sent. */
  received(): string;
  closed: Promise<void>;
  isOpen(): boolean;
  destroy(): void;
}

/** Sends `head` and then one byte of `drip` every 100 ms, never finishing the request. */
function slowClient(port: number, head: string, drip: string): Slow {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  let open = true;
  socket.setEncoding('latin1').on('data', (d) => (data += d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => (open = false));
  socket.write(head);
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(drip);
  }, 100);
  void closed.then(() => clearInterval(timer));
  return { received: () => data, closed, isOpen: () => open, destroy: () => socket.destroy() };
}

describe('request timeout', () => {
  it('closes connections that dribble their body or headers, and leaves a log follow open', { timeout: 60_000 }, async () => {
    const h = await harness({ config: { listen: { host: '127.0.0.1', port: 0, requestTimeoutMs: TIMEOUT_MS } } });
    const slow: Slow[] = [];
    let follow: http.ClientRequest | undefined;
    try {
      const id = await create(h.app, { name: 'talker', image: 'printer:1' });
      await waitFor(h.app, id, 'running');
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (h.app.server.address() as AddressInfo).port;

      follow = http.get(`http://127.0.0.1:${port}/v1/containers/${id}/logs?follow=true&format=text`, { agent: false });
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => follow!.once('response', resolve).once('error', reject));
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      const followEnded = new Promise<void>((resolve) => res.once('end', () => resolve()));
      let followClosed = false;
      res.once('close', () => (followClosed = true));

      const body1k = 'POST /v1/containers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{';
      for (let i = 0; i < 90; i++) slow.push(slowClient(port, body1k, ' '));
      for (let i = 0; i < 10; i++) slow.push(slowClient(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X'));

      // However long Node takes to get round to them, every slow client is cut off...
      await Promise.all(slow.map((s) => s.closed));
      for (const s of slow) assert.match(s.received(), /^HTTP\/1\.1 408 /, 'told why');
      // ...well after the follow passed the same timeout (its request was whole at once): it is still open,
      // and wait a while longer to be sure.
      await sleep(2 * TIMEOUT_MS);
      assert.equal(followClosed, false, 'the log follow is still open');
      assert.equal(body, 'line1\nline2\nline3\n');

      await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop` });
      await followEnded;
      assert.equal(body, 'line1\nline2\nline3\n', 'the follow ends normally when the container stops');
    } finally {
      for (const s of slow) s.destroy();
      follow?.destroy();
      await h.close();
    }
  });
});
