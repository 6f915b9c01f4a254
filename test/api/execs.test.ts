/**
 * Execs through the API, with the fake sandbox playing each exec's argv (test/containers/fakes.ts): create,
 * start (JSON, NDJSON, detached), inspect, the merged environment, the attach WebSocket over a real socket,
 * and the states and errors around them.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { create, harness, waitFor, type Harness } from '../containers/harness.ts';
import { check, conforms, responseSchema } from './openapi-check.ts';

async function exec(h: Harness, id: string, body: Record<string, unknown>): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/exec`, payload: body });
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual(await conforms(h.app, 'POST', '/v1/containers/{id}/exec', res), []);
  return res.json().id;
}

async function run(h: Harness, id: string, body: Record<string, unknown>) {
  const e = await exec(h, id, body);
  const res = await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: {} });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(await conforms(h.app, 'POST', '/v1/exec/{exec}/start', res), []);
  return { exec: e, ...(res.json() as { exit_code: number | null; output: { stdout: string; stderr: string; truncated: boolean } }) };
}

/** A WebSocket client that records every message, in order. */
function client(url: string) {
  const ws = new WebSocket(url);
  const frames: Array<{ stream: number; data: string } | Record<string, any>> = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer, isBinary) => {
    frames.push(isBinary ? { stream: data[0]!, data: data.subarray(1).toString('utf8') } : JSON.parse(data.toString('utf8')));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const opened = new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  /** Resolves once the frames satisfy `ok`. */
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise<void>((r) => waiters.push(r));
  };
  const text = (stream: number) => frames.filter((f) => f.stream === stream).map((f) => f.data).join('');
  return { ws, frames, opened, closed, until, text };
}

describe('execs API', () => {
  let h: Harness;
  let id: string;
  let base: string;
  before(async () => {
    h = await harness();
    id = await create(h.app, { name: 'box', image: 'sleeper:1', env_vars: { FROM_CONTAINER: 'c', FROM_IMAGE: 'overridden' } });
    await waitFor(h.app, id, 'running');
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(() => h.close());

  it('runs a command and answers its exit code and output, streams kept apart', async () => {
    const r = await run(h, id, { cmd: ['echo', 'hi', 'there'] });
    assert.deepEqual([r.exit_code, r.output], [0, { stdout: 'hi there\n', stderr: '', truncated: false }]);
    const err = await run(h, id, { cmd: ['stderr', 'oops'] });
    assert.deepEqual(err.output, { stdout: '', stderr: 'oops\n', truncated: false });
    assert.equal((await run(h, id, { cmd: ['exit', '2'] })).exit_code, 2);
    const tty = await run(h, id, { cmd: ['stderr', 'merged'], tty: true });
    assert.deepEqual(tty.output, { stdout: 'merged\n', stderr: '', truncated: false }, 'a tty merges stderr into stdout');
    assert.equal((await run(h, id, { cmd: ['tty'] })).exit_code, 1);
    assert.equal((await run(h, id, { cmd: ['tty'], tty: true })).output.stdout, '/dev/pts/0\n');
  });

  it("a command that cannot start is 127 with the guest's message on stderr", async () => {
    const r = await run(h, id, { cmd: ['no-such-command'] });
    assert.equal(r.exit_code, 127);
    assert.match(r.output.stderr, /executable file not found in \$PATH/);
  });

  it("merges the environment the Docker way; user and working directory default to the container's", async () => {
    const env = (await run(h, id, { cmd: ['env'], env: { FROM_EXEC: 'e', FROM_CONTAINER: 'exec wins' } })).output.stdout.trim().split('\n');
    const vars = Object.fromEntries(env.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(vars.PATH, '/custom/bin', "the image's PATH");
    assert.equal(vars.FROM_IMAGE, 'overridden', "the container's env_vars over the image's Env");
    assert.equal(vars.FROM_CONTAINER, 'exec wins', "the exec's env over the container's");
    assert.equal(vars.FROM_EXEC, 'e');
    assert.match(vars.HOSTNAME!, /^[0-9a-f]{12}$/);
    assert.equal(vars.TERM, undefined, 'no TERM without a tty');
    assert.match((await run(h, id, { cmd: ['env'], tty: true })).output.stdout, /^TERM=xterm$/m);
    assert.equal((await run(h, id, { cmd: ['pwd'] })).output.stdout, '/srv\n', "the image's WorkingDir");
    assert.equal((await run(h, id, { cmd: ['pwd'], working_dir: '/tmp' })).output.stdout, '/tmp\n');
    assert.equal((await run(h, id, { cmd: ['whoami'] })).output.stdout, 'root\n');
    assert.equal((await run(h, id, { cmd: ['whoami'], user: 'nobody' })).output.stdout, 'nobody\n');
  });

  it('caps each stream at 1 MiB and says so', async () => {
    const r = await run(h, id, { cmd: ['bytes', String(1024 * 1024 + 10)] });
    assert.equal(r.output.truncated, true);
    assert.equal(r.output.stdout.length, 1024 * 1024);
    assert.equal(r.exit_code, 0);
    const exact = await run(h, id, { cmd: ['bytes', String(1024 * 1024)] });
    assert.deepEqual([exact.output.truncated, exact.output.stdout.length], [false, 1024 * 1024]);
  });

  it('streams output as NDJSON (base64), the exit code last', async () => {
    const e = await exec(h, id, { cmd: ['echo', 'streamed'] });
    const res = await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: {}, headers: { accept: 'application/x-ndjson' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
    const schema = await responseSchema(h.app, 'POST', '/v1/exec/{exec}/start', 200, 'application/x-ndjson');
    for (const l of lines) assert.deepEqual(check(schema, l), []);
    assert.deepEqual(lines, [{ stream: 'stdout', data: Buffer.from('streamed\n').toString('base64') }, { exit_code: 0 }]);
  });

  it('detached: answers once started; GET shows it running, then its exit; a second start is 409', async () => {
    const e = await exec(h, id, { cmd: ['sleep'] });
    const created = await h.app.inject({ url: `/v1/exec/${e}` });
    assert.deepEqual(await conforms(h.app, 'GET', '/v1/exec/{exec}', created), []);
    assert.deepEqual(created.json().item, { id: e, container_id: id, cmd: ['sleep'], tty: false, stdin: false, running: false, exit_code: null, pid: null });
    const res = await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: { detach: true } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().item.running, true);
    assert.ok(res.json().item.pid > 0);
    const again = await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: { detach: true } });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'HEARTH_ERR_EXEC_STATE');
    const vm = h.launcher.alive()[0]!;
    vm.execs.find((x) => x.pid === res.json().item.pid)!.signal(15);
    const ended = await waitExec(h, e);
    assert.deepEqual([ended.running, ended.exit_code], [false, 143]);
  });

  it('many execs at once', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => run(h, id, { cmd: ['echo', `n${i}`] })));
    assert.deepEqual(results.map((r) => r.output.stdout), Array.from({ length: 8 }, (_, i) => `n${i}\n`));
  });

  it('an interactive session over the WebSocket: stdin, stdout, EOF, the exit code', async () => {
    const e = await exec(h, id, { cmd: ['cat'], stdin: true });
    const c = client(`${base}/v1/exec/${e}/attach`);
    await c.opened;
    c.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]));
    await c.until(() => c.text(1) === 'hello\n');
    c.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('again\n')]));
    await c.until(() => c.text(1) === 'hello\nagain\n');
    c.ws.send(JSON.stringify({ eof: true }));
    assert.equal(await c.closed, 1000);
    assert.deepEqual(c.frames.at(-1), { exit: 0 });
  });

  it('binary data travels byte-exact through stdin and stdout', async () => {
    const e = await exec(h, id, { cmd: ['cat'], stdin: true });
    const ws = new WebSocket(`${base}/v1/exec/${e}/attach`);
    const received: Buffer[] = [];
    let exit: unknown;
    ws.on('message', (d: Buffer, bin) => (bin ? received.push(d.subarray(1)) : (exit = JSON.parse(d.toString()))));
    await new Promise((r) => ws.once('open', r));
    const sent = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i % 256));
    ws.send(Buffer.concat([Buffer.from([0]), sent]));
    ws.send(JSON.stringify({ eof: true }));
    await new Promise((r) => ws.once('close', r));
    assert.deepEqual(Buffer.concat(received), sent);
    assert.deepEqual(exit, { exit: 0 });
  });

  it('a tty session: initial size, resize, Ctrl-C as a signal; the exec outlives its client', async () => {
    const size = await exec(h, id, { cmd: ['stty-size'], tty: true });
    const c1 = client(`${base}/v1/exec/${size}/attach?rows=40&cols=120`);
    await c1.closed;
    assert.equal(c1.text(1), '40 120\n');

    const e = await exec(h, id, { cmd: ['sleep'], tty: true, stdin: true });
    const c2 = client(`${base}/v1/exec/${e}/attach`);
    await c2.opened;
    c2.ws.send(JSON.stringify({ resize: { rows: 10, cols: 20 } }));
    const fake = () => h.launcher.alive()[0]!.execs.find((x) => x.spec.argv[0] === 'sleep' && x.spec.tty)!;
    await new Promise<void>((r) => {
      const poll = () => (fake()?.resizes.length ? r() : setImmediate(poll));
      poll();
    });
    assert.deepEqual(fake().resizes, [{ rows: 10, cols: 20 }]);
    c2.ws.close();
    await c2.closed;
    assert.equal((await h.app.inject({ url: `/v1/exec/${e}` })).json().item.running, true, 'still running after its client left');
    // Another client attaches and interrupts it.
    const c3 = client(`${base}/v1/exec/${e}/attach`);
    await c3.opened;
    c3.ws.send(JSON.stringify({ signal: 'SIGINT' }));
    assert.equal(await c3.closed, 1000);
    assert.deepEqual(c3.frames.at(-1), { exit: 130 });
  });

  it('attach: 404 for an unknown exec, 400 without the upgrade; an ended exec gives its exit at once', async () => {
    assert.equal((await h.app.inject({ url: `/v1/exec/${'a'.repeat(64)}/attach` })).statusCode, 404);
    const e = await exec(h, id, { cmd: ['exit', '4'] });
    const plain = await h.app.inject({ url: `/v1/exec/${e}/attach` });
    assert.equal(plain.statusCode, 400);
    assert.equal(plain.json().error.code, 'HEARTH_ERR_WEBSOCKET_REQUIRED');
    await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: {} });
    const c = client(`${base}/v1/exec/${e}/attach`);
    assert.equal(await c.closed, 1000);
    assert.deepEqual(c.frames, [{ exit: 4 }]);
  });

  it('rejects bad requests: no cmd, empty cmd, bad env name, relative working_dir, bad exec id', async () => {
    for (const [payload, field] of [
      [{}, 'body/cmd'],
      [{ cmd: [] }, 'body/cmd'],
      [{ cmd: ['echo'], working_dir: 'tmp' }, 'body/working_dir'],
      [{ cmd: ['echo'], env: { 'A=B': 'x' } }, 'body/env'],
    ] as const) {
      const res = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/exec`, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().error.field, field, res.body);
    }
    assert.equal((await h.app.inject({ url: '/v1/exec/not-hex' })).statusCode, 400);
    const unknown = await h.app.inject({ url: `/v1/exec/${'b'.repeat(64)}` });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'HEARTH_ERR_EXEC_NOT_FOUND');
    const noContainer = await h.app.inject({ method: 'POST', url: '/v1/containers/nope/exec', payload: { cmd: ['echo'] } });
    assert.equal(noContainer.statusCode, 404);
  });

  it('409 unless the container runs; its execs are forgotten when its run ends (and end with it)', async () => {
    const other = await create(h.app, { name: 'short', image: 'sleeper:1' });
    await waitFor(h.app, other, 'running');
    const e = await exec(h, other, { cmd: ['sleep'] });
    await h.app.inject({ method: 'POST', url: `/v1/exec/${e}/start`, payload: { detach: true } });
    const events = await h.app.inject({ url: `/v1/containers/${other}/events` });
    assert.ok(events.json().items.some((x: any) => x.type === 'exec-start'));
    const stop = await h.app.inject({ method: 'POST', url: `/v1/containers/${other}/stop` });
    assert.equal(stop.json().item.state, 'stopped');
    assert.equal((await h.app.inject({ url: `/v1/exec/${e}` })).statusCode, 404);
    const res = await h.app.inject({ method: 'POST', url: `/v1/containers/${other}/exec`, payload: { cmd: ['echo'] } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'HEARTH_ERR_CONTAINER_STATE');
    assert.match(res.json().error.message, /short is stopped/);
    const types = (await h.store.listEvents(other)).filter((x) => x.type.startsWith('exec-')).map((x) => [x.type, x.exit_code]);
    assert.deepEqual(types, [['exec-start', null], ['exec-end', null]]);
  });
});

async function waitExec(h: Harness, e: string) {
  for (;;) {
    const item = (await h.app.inject({ url: `/v1/exec/${e}` })).json().item;
    if (!item.running) return item;
    await new Promise((r) => setImmediate(r));
  }
}

describe('execs after a manager restart', () => {
  it("an adopted container's exec gets its image's settings again (the run was adopted without them)", async () => {
    const h1 = await harness();
    const id = await create(h1.app, { name: 'adopted', image: 'sleeper:1' });
    await waitFor(h1.app, id, 'running');
    await h1.close(false);
    h1.network.restartProcess();
    const h2 = await harness({ dir: h1.dir, launcher: h1.launcher, network: h1.network });
    try {
      assert.equal((await h2.app.inject({ url: `/v1/containers/${id}` })).json().item.state, 'running');
      const pwd = await run(h2, id, { cmd: ['pwd'] });
      assert.deepEqual([pwd.exit_code, pwd.output.stdout], [0, '/srv\n'], "the image's WorkingDir");
      assert.match((await run(h2, id, { cmd: ['env'] })).output.stdout, /^PATH=\/custom\/bin$/m);
    } finally {
      await h2.close();
    }
  });
});
