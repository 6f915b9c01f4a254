/**
 * Attaching to a container's main process through the API, the fake sandbox playing it (test/containers/
 * fakes.ts: `cat` echoes its stdin): several clients at once, detach and reattach, stdin refused without
 * `stdin_open`, resize with and without `tty`, `logs=true`, the exit message, and the HTTP errors before the
 * upgrade. Over a real socket, with the `ws` client.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { create, getItem, harness, waitFor, type Harness } from '../containers/harness.ts';

/** A WebSocket client that records every message, in order. */
function client(url: string) {
  const ws = new WebSocket(url);
  const frames: Array<Record<string, any>> = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer, isBinary) => {
    frames.push(isBinary ? { stream: data[0]!, data: data.subarray(1).toString('utf8') } : JSON.parse(data.toString('utf8')));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const opened = new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise<void>((r) => waiters.push(r));
  };
  const text = (stream: number) => frames.filter((f) => f.stream === stream).map((f) => f.data).join('');
  const type = (s: string) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(s)]));
  const errors = () => frames.filter((f) => 'error' in f).map((f) => f.error.code as string);
  return { ws, frames, opened, closed, until, text, type, errors };
}

describe('attach API', () => {
  let h: Harness;
  let base: string;
  const sandboxOf = (vmId: string) => h.launcher.alive().find((s) => s.spec.id === vmId)!;
  before(async () => {
    h = await harness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(() => h.close());

  it('tty and stdin_open are create and update fields, false by default, and reach the RUN spec', async () => {
    const plain = await create(h.app, { name: 'plain', image: 'sleeper:1' });
    const item = await waitFor(h.app, plain, 'running');
    assert.equal(item.tty, false);
    assert.equal(item.stdin_open, false);
    const vm = item.container_runtime_id.slice(3);
    assert.equal(sandboxOf(vm).spec.process.tty, undefined);
    assert.equal(sandboxOf(vm).spec.process.stdin, undefined);
    assert.equal((await h.app.inject({ method: 'POST', url: `/v1/containers/${plain}/stop?timeout=0` })).statusCode, 200);
    const put = await h.app.inject({ method: 'PUT', url: `/v1/containers/${plain}`, payload: { tty: true, stdin_open: true } });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual([put.json().item.tty, put.json().item.stdin_open], [true, true]);
    await h.app.inject({ method: 'POST', url: `/v1/containers/${plain}/start` });
    const again = await waitFor(h.app, plain, 'running');
    const spec = sandboxOf(again.container_runtime_id.slice(3)).spec.process;
    assert.deepEqual([spec.tty, spec.stdin, spec.env.includes('TERM=xterm')], [true, true, true]);
    assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${plain}` })).statusCode, 204);
  });

  it('several clients see the output; each may type; detach leaves it running; reattach with logs replays', async () => {
    const id = await create(h.app, { name: 'cat-it', image: 'sleeper:1', args: ['cat'], tty: true, stdin_open: true });
    const vm = (await waitFor(h.app, id, 'running')).container_runtime_id.slice(3);
    const a = client(`${base}/v1/containers/${id}/attach`);
    const b = client(`${base}/v1/containers/${id}/attach?rows=40&cols=100`);
    await Promise.all([a.opened, b.opened]);
    a.type('echo hi\n');
    await Promise.all([a.until(() => a.text(1) === 'echo hi\n'), b.until(() => b.text(1) === 'echo hi\n')]);
    b.type('from b\n');
    await a.until(() => a.text(1) === 'echo hi\nfrom b\n');
    assert.deepEqual(sandboxOf(vm).resizes, [{ rows: 40, cols: 100 }]);
    a.ws.send(JSON.stringify({ resize: { rows: 10, cols: 20 } }));
    await new Promise<void>((r) => {
      const poll = () => (sandboxOf(vm).resizes.length === 2 ? r() : setImmediate(poll));
      poll();
    });
    assert.deepEqual(sandboxOf(vm).resizes[1], { rows: 10, cols: 20 });

    // Detach both: the container runs on, and its output keeps going to the logs.
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
    assert.equal((await getItem(h.app, id)).state, 'running');
    sandboxOf(vm).writeStdin(Buffer.from('while nobody watched\n'));

    // Reattach: output from now on; with logs=true the recent output first.
    const c = client(`${base}/v1/containers/${id}/attach?logs=true`);
    const d = client(`${base}/v1/containers/${id}/attach`);
    await Promise.all([c.opened, d.opened]);
    await c.until(() => c.text(1) === 'echo hi\nfrom b\nwhile nobody watched\n');
    d.type('again\n');
    await d.until(() => d.text(1) === 'again\n');
    await c.until(() => c.text(1).endsWith('again\n'));
    const logs = await h.app.inject({ url: `/v1/containers/${id}/logs` });
    for (const line of ['echo hi', 'from b', 'while nobody watched', 'again']) assert.match(logs.body, new RegExp(line));

    // With a tty, eof is ignored (a terminal has no end of input); a signal ends it; everyone gets the exit.
    c.ws.send(JSON.stringify({ eof: true }));
    c.ws.send(JSON.stringify({ signal: 'SIGTERM' }));
    assert.deepEqual(await Promise.all([c.closed, d.closed]), [1000, 1000]);
    assert.deepEqual(c.frames.at(-1), { exit: 143 });
    assert.deepEqual(d.frames.at(-1), { exit: 143 });
    assert.deepEqual([...c.errors(), ...d.errors()], []);
  });

  it('stdin_open without tty: eof ends cat, whose exit closes every client', async () => {
    const id = await create(h.app, { name: 'cat-i', image: 'sleeper:1', args: ['cat'], stdin_open: true });
    await waitFor(h.app, id, 'running');
    const a = client(`${base}/v1/containers/${id}/attach`);
    await a.opened;
    a.type('line\n');
    await a.until(() => a.text(1) === 'line\n');
    a.ws.send(JSON.stringify({ resize: { rows: 10, cols: 20 } }));
    await a.until(() => a.errors().length === 1);
    assert.deepEqual(a.errors(), ['HEARTH_ERR_NO_TTY']);
    a.ws.send(JSON.stringify({ eof: true }));
    assert.equal(await a.closed, 1000);
    assert.deepEqual(a.frames.at(-1), { exit: 0 });
    await waitFor(h.app, id, 'exited');
  });

  it('without stdin_open, input is refused with an error message and the session goes on', async () => {
    const id = await create(h.app, { name: 'printer', image: 'printer:1' });
    const vm = (await waitFor(h.app, id, 'running')).container_runtime_id.slice(3);
    const a = client(`${base}/v1/containers/${id}/attach`);
    await a.opened;
    a.type('ignored\n');
    a.ws.send(JSON.stringify({ eof: true }));
    a.ws.send('not json');
    await a.until(() => a.errors().length === 3);
    assert.deepEqual(a.errors(), ['HEARTH_ERR_STDIN_NOT_OPEN', 'HEARTH_ERR_STDIN_NOT_OPEN', 'HEARTH_ERR_INVALID_ARGUMENT']);
    const refused = a.frames.find((f) => 'error' in f)!;
    assert.match(refused.error.message, /without stdin_open/);
    assert.deepEqual(sandboxOf(vm).stdin, []);
    assert.equal(a.ws.readyState, WebSocket.OPEN);
    await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/stop?timeout=0` });
    assert.equal(await a.closed, 1000);
    assert.ok('exit' in a.frames.at(-1)!);
  });

  it('409 unless running, 404 unknown, 400 without the upgrade', async () => {
    const id = await create(h.app, { name: 'done', image: 'ok:1' });
    await waitFor(h.app, id, 'exited');
    const stopped = await h.app.inject({ url: `/v1/containers/${id}/attach` });
    assert.equal(stopped.statusCode, 409, stopped.body);
    assert.equal(stopped.json().error.code, 'HEARTH_ERR_CONTAINER_STATE');
    const ws = new WebSocket(`${base}/v1/containers/${id}/attach`);
    const status = await new Promise<number>((r) => ws.once('unexpected-response', (_req, res) => r(res.statusCode!)));
    assert.equal(status, 409);
    assert.equal((await h.app.inject({ url: `/v1/containers/00000000-0000-4000-8000-000000000000/attach` })).statusCode, 404);
    const running = await create(h.app, { name: 'runs', image: 'sleeper:1' });
    await waitFor(h.app, running, 'running');
    const plain = await h.app.inject({ url: `/v1/containers/${running}/attach` });
    assert.equal(plain.statusCode, 400);
    assert.equal(plain.json().error.code, 'HEARTH_ERR_WEBSOCKET_REQUIRED');
  });
});
