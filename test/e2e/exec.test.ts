/**
 * Reaching into a running container through the real manager and real VMs: exec's exit codes, binary
 * output and stdin byte-exact, a tty session over the WebSocket (tty, window size, resize, Ctrl-C), user and
 * working directory, eight at once, 409 for a stopped container; pause (no CPU used; logs, events and the
 * guest clock right after resume) and delete while paused.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { assertNoLeaks, e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('exec and pause, end to end', () => {
  let world: E2eEnv;
  let id: string;
  before(async () => {
    world = await e2eEnv();
    id = await world.api.create({ name: 'reached', image: 'busybox:latest', args: ['sh', '-c', 'while true; do echo tick; sleep 0.05; done'] });
    await world.api.waitFor(id, ['running']);
  });
  after(async () => {
    await world?.close();
  });

  const exec = async (body: Record<string, unknown>) => {
    const r = await world.api.call('POST', `/v1/containers/${id}/exec`, body);
    assert.equal(r.status, 201, r.text);
    return r.body.id as string;
  };
  const run = async (cmd: string[], extra: Record<string, unknown> = {}) => {
    const r = await world.api.call('POST', `/v1/exec/${await exec({ cmd, ...extra })}/start`, { detach: false });
    assert.equal(r.status, 200, r.text);
    return r.body as { exit_code: number; output: { stdout: string; stderr: string } };
  };

  it('gives Docker exit codes, messages, user and working directory', async () => {
    assert.equal((await run(['true'])).exit_code, 0);
    assert.equal((await run(['false'])).exit_code, 1);
    assert.equal((await run(['sh', '-c', 'exit 2'])).exit_code, 2);
    const notExec = await run(['/etc/passwd']);
    assert.equal(notExec.exit_code, 126);
    const missing = await run(['no-such-command']);
    assert.equal(missing.exit_code, 127);
    assert.match(missing.output.stderr, /executable file not found in \$PATH/);
    assert.equal((await run(['sh', '-c', 'kill -9 $$'])).exit_code, 137);
    assert.equal((await run(['sh', '-c', 'kill -15 $$'])).exit_code, 143);
    const who = await run(['sh', '-c', 'id -u; pwd'], { user: '1000', working_dir: '/tmp' });
    assert.equal(who.output.stdout, '1000\n/tmp\n');
  });

  it('carries 10 MB of binary output and 10 MB of stdin byte-exact', async () => {
    const out = await ndjson(world, await exec({ cmd: ['sh', '-c', 'head -c 10485760 /dev/urandom | tee /tmp/r | sha256sum | cut -c1-64 >&2; cat /tmp/r'] }));
    assert.equal(out.exit_code, 0);
    assert.equal(out.stdout.length, 10 << 20);
    assert.equal(sha(out.stdout), out.stderr.toString().trim(), 'what left the guest is what the guest hashed');

    const input = randomBytes(10 << 20);
    const ws = await attach(world, await exec({ cmd: ['sha256sum'], stdin: true }));
    for (let i = 0; i < input.length; i += 256 << 10) ws.send(Buffer.concat([Buffer.from([0]), input.subarray(i, i + (256 << 10))]));
    ws.send(JSON.stringify({ eof: true }));
    const result = await ws.ended;
    assert.equal(result.exit, 0);
    assert.equal(result.stdout.toString().split(' ')[0], sha(input));
  });

  it('drives a tty session: a terminal, its size, a resize, Ctrl-C, and the shell goes on', async () => {
    const ws = await attach(world, await exec({ cmd: ['sh'], tty: true, stdin: true }), '?rows=30&cols=100');
    const type = (s: string) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(s)]));
    type('tty; stty size\n');
    await ws.until(/\/dev\/pts\/\d+[\s\S]*30 100/);
    ws.send(JSON.stringify({ resize: { rows: 40, cols: 120 } }));
    await sleep(200);
    type('stty size\n');
    await ws.until(/40 120/);
    type('sleep 100\n');
    await sleep(500);
    type('\x03');
    type('echo survived-$?\n');
    await ws.until(/survived-130/);
    type('exit 0\n');
    assert.equal((await ws.ended).exit, 0);
  });

  it('runs eight at once while the main process writes', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => run(['sh', '-c', `sleep 0.5; echo n${i}`])));
    results.forEach((r, i) => assert.deepEqual([r.exit_code, r.output.stdout], [0, `n${i}\n`]));
  });

  it('pauses: no CPU used, state paused; resumes with logs, events and clock right; deleted while paused it leaves nothing', async (t) => {
    const vm = (await world.api.call('GET', `/v1/vms/${(await world.api.get(id)).container_runtime_id}`)).body.item;
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/pause`)).status, 200);
    const pausedAt = Date.now();
    assert.equal((await world.api.get(id)).state, 'paused');
    const paused = await cpuTicksOver(vm.pid, 1_000);
    await sleep(2_000); // a guest clock left alone would now be 3 s behind
    const ticksWhilePaused = (await world.api.logs(id)).filter((l) => Date.parse(l.timestamp) > pausedAt + 500);
    assert.deepEqual(ticksWhilePaused, [], 'no output while the vCPUs are stopped');
    const unpausedAt = Date.now();
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/unpause`)).status, 200);
    const running = await cpuTicksOver(vm.pid, 1_000);
    t.diagnostic(`VMM CPU over 1 s: paused ${paused} ticks, running ${running} ticks`);
    assert.ok(paused * 10 <= running, `paused ${paused} ticks against ${running} running`);
    assert.equal((await run(['echo', 'back'])).output.stdout, 'back\n');

    const guestSeconds = Number((await run(['date', '+%s'])).output.stdout);
    assert.ok(Math.abs(guestSeconds - Date.now() / 1000) <= 2, `guest clock ${guestSeconds}, host ${Date.now() / 1000}`);
    const logsAfter = (await world.api.logs(id)).filter((l) => Date.parse(l.timestamp) >= unpausedAt);
    assert.ok(logsAfter.some((l) => l.message === 'tick'), 'the main process writes again and its output is logged');
    const states = (await world.api.call('GET', `/v1/containers/${id}/events`)).body.items.filter((e: any) => e.type === 'state');
    assert.deepEqual(states.slice(-2).map((e: any) => [e.from_state, e.to_state]), [['running', 'paused'], ['paused', 'running']]);

    assert.equal((await world.api.call('POST', `/v1/containers/${id}/pause`)).status, 200);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });

  it('refuses an exec into a container that is not running, with a message', async () => {
    const stopped = await world.api.create({ name: 'done', image: 'busybox:latest', args: ['true'] });
    await world.api.waitFor(stopped, ['exited']);
    const r = await world.api.call('POST', `/v1/containers/${stopped}/exec`, { cmd: ['true'] });
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /not running|exited/);
    assert.equal((await world.api.call('DELETE', `/v1/containers/${stopped}`)).status, 204);
  });
});

async function cpuTicksOver(pid: number, ms: number): Promise<number> {
  const ticks = async () => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const before = await ticks();
  await sleep(ms);
  return (await ticks()) - before;
}

async function ndjson(world: E2eEnv, execId: string): Promise<{ exit_code: number; stdout: Buffer; stderr: Buffer }> {
  const r = await fetch(`${world.api.url}/v1/exec/${execId}/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify({ detach: false }),
  });
  const out = { exit_code: -1, stdout: [] as Buffer[], stderr: [] as Buffer[] };
  for (const line of (await r.text()).split('\n').filter(Boolean)) {
    const m = JSON.parse(line);
    if ('exit_code' in m) out.exit_code = m.exit_code;
    else out[m.stream as 'stdout' | 'stderr'].push(Buffer.from(m.data, 'base64'));
  }
  return { exit_code: out.exit_code, stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr) };
}

interface Attached {
  send(data: Buffer | string): void;
  until(re: RegExp): Promise<void>;
  ended: Promise<{ exit: number | null; stdout: Buffer }>;
}

async function attach(world: E2eEnv, execId: string, query = ''): Promise<Attached> {
  const ws = new WebSocket(`${world.api.url.replace('http', 'ws')}/v1/exec/${execId}/attach${query}`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const chunks: Buffer[] = [];
  let exit: number | null = null;
  let wake = () => {};
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) chunks.push(data.subarray(1));
    else if ('exit' in JSON.parse(data.toString())) exit = JSON.parse(data.toString()).exit;
    wake();
  });
  const ended = new Promise<{ exit: number | null; stdout: Buffer }>((resolve) => ws.once('close', () => resolve({ exit, stdout: Buffer.concat(chunks) })));
  return {
    send: (data) => ws.send(data),
    until: async (re) => {
      const deadline = Date.now() + 30_000;
      while (!re.test(Buffer.concat(chunks).toString())) {
        assert.ok(Date.now() < deadline, `no ${re} in ${JSON.stringify(Buffer.concat(chunks).toString())}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200);
        });
      }
    },
    ended,
  };
}
