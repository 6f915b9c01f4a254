/**
 * `docker run -it` and `docker attach`, for real: a busybox container created with `tty` and `stdin_open`
 * running `sh`, driven over the attach WebSocket by a `ws` client: a typed command's output comes back, the
 * client detaches and the shell runs on, a second client reattaches and runs another command, `stty size`
 * follows a resize, and the logs hold the output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';

await enterTestNetns(import.meta.url);

/** A terminal client: what it typed goes out as stdin frames; what came back is `screen`. */
function terminal(url: string) {
  const ws = new WebSocket(url);
  let screen = '';
  const messages: Array<Record<string, any>> = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) screen += data.subarray(1).toString('utf8');
    else messages.push(JSON.parse(data.toString('utf8')));
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  return {
    ws,
    opened,
    closed,
    messages,
    get screen() {
      return screen;
    },
    type: (s: string) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(s)])),
    /** Resolves once the screen matches, or fails after `ms` showing it. */
    async expect(re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = screen.match(re);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`screen does not match ${re}: ${JSON.stringify(screen)}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200))]);
      }
    },
  };
}

describe('attach, end to end', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('types into sh on a tty, detaches, reattaches, resizes; the logs hold the output', async () => {
    const { api } = world;
    const id = await api.create({ name: 'interactive', image: 'busybox:latest', args: ['sh'], tty: true, stdin_open: true });
    const item = await api.waitFor(id, ['running', 'exited', 'error']);
    assert.equal(item.state, 'running', item.error_message);
    const ws = api.url.replace(/^http/, 'ws');

    const first = terminal(`${ws}/v1/containers/${id}/attach`);
    await first.opened;
    first.type('echo hi\n');
    await first.expect(/\r\nhi\r\n/);
    first.type('tty; echo "TERM=$TERM"\n');
    await first.expect(/\/dev\/pts\/\d+\r\nTERM=xterm\r\n/);
    first.ws.close();
    assert.equal(await first.closed, 1005);

    // Detached: the shell runs on.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await api.get(id)).state, 'running');

    const second = terminal(`${ws}/v1/containers/${id}/attach`);
    await second.opened;
    second.type('echo "again $((40 + 2))"\n');
    await second.expect(/again 42\r\n/);
    second.type('stty size\n');
    await second.expect(/\r\n24 80\r\n/);
    second.ws.send(JSON.stringify({ resize: { rows: 33, cols: 111 } }));
    second.type('stty size\n');
    await second.expect(/\r\n33 111\r\n/);

    const messages = (await api.logs(id)).map((l) => l.message);
    for (const line of ['hi', 'again 42', '33 111']) assert.ok(messages.includes(line), `${line} in the logs: ${JSON.stringify(messages)}`);

    // The shell's end is the container's, and the attached client gets the exit.
    second.type('exit 7\n');
    assert.equal(await second.closed, 1000);
    assert.deepEqual(second.messages.at(-1), { exit: 7 });
    const done = await api.waitFor(id, ['exited', 'error']);
    assert.equal(done.exit_code, 7);
    assert.equal((await api.call('GET', `/v1/containers/${id}/attach`)).status, 409);
    assert.equal((await api.call('DELETE', `/v1/containers/${id}`)).status, 204);
  });
});
