/**
 * The agent client against a scripted peer: held frames, malformed frames, no throw into the caller, and the
 * host's own failures never taken for the guest's.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { AgentClient } from '../../src/agent/client.ts';
import { encodeFrame, encodeRecords, FrameType, MAX_PAYLOAD, RecordTag } from '../../src/agent/protocol.ts';
import { isHearthError } from '../../src/errors.ts';

/** A stream whose reads are what the test pushes; writes are collected. */
function peer(): { stream: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      written.push(chunk);
      done();
    },
  });
  return { stream, written };
}

const hello = (state: string) => encodeFrame(FrameType.HELLO, encodeRecords([[RecordTag.AGENT_VERSION, '1'], [RecordTag.STATE, state]]));
const output = (text: string) => {
  const head = Buffer.alloc(12);
  head.writeUInt8(1, 0);
  return encodeFrame(FrameType.OUTPUT, Buffer.concat([head, Buffer.from(text)]));
};
const exit = (code: number) => {
  const p = Buffer.alloc(8);
  p.writeInt32LE(code, 0);
  return encodeFrame(FrameType.EXIT, p);
};
const tick = () => new Promise((r) => setImmediate(r));

describe('AgentClient', () => {
  it('holds every frame until released, then dispatches them in order', async () => {
    const { stream } = peer();
    const client = new AgentClient(stream, { hold: true });
    const events: string[] = [];
    client.on('hello', (h) => events.push(`hello ${h.state}`));
    client.on('output', (o) => events.push(`out ${o.data.toString()}`));
    client.on('exit', (e) => events.push(`exit ${e.code}`));
    stream.push(Buffer.concat([hello('exited'), output('a'), output('b'), exit(3)]));
    await tick();
    assert.deepEqual(events, []);
    await client.greeted;
    client.release();
    assert.deepEqual(events, ['hello exited', 'out a', 'out b', 'exit 3']);
  });

  it('closes the connection on a malformed frame instead of throwing', async () => {
    const { stream } = peer();
    const client = new AgentClient(stream);
    const closed = new Promise<string>((resolve) => client.on('closed', ({ reason }) => resolve(reason)));
    stream.push(encodeFrame(FrameType.STARTED, Buffer.alloc(0)));
    assert.match(await closed, /malformed frame 0x82: 0 bytes, at least 4 expected/);
    assert.equal(stream.destroyed, true);
  });

  it('closes the connection on an unknown agent state', async () => {
    const { stream } = peer();
    const client = new AgentClient(stream);
    const closed = new Promise<string>((resolve) => client.on('closed', ({ reason }) => resolve(reason)));
    stream.push(hello('dancing'));
    assert.match(await closed, /unknown agent state "dancing"/);
  });

  it('a listener that throws is reported as the host failing, not as a malformed guest frame', async () => {
    const { stream } = peer();
    const client = new AgentClient(stream);
    const closed = new Promise<string>((resolve) => client.on('closed', ({ reason }) => resolve(reason)));
    client.on('hello', () => {
      throw new Error('boom');
    });
    stream.push(hello('waiting'));
    const reason = await closed;
    assert.match(reason, /the host failed while handling the agent's frame 0x81 \(not a fault of the guest\): boom/);
    assert.doesNotMatch(reason, /malformed/);
  });

  it('refuses to send a RUN over the frame limit, and sends nothing', () => {
    const { stream, written } = peer();
    const client = new AgentClient(stream);
    const spec = { argv: ['/x', 'a'.repeat(MAX_PAYLOAD)], env: [], cwd: '/', user: '', hostname: 'h', hosts: '' };
    assert.throws(() => client.run(spec, 'ext4'), (e) => isHearthError(e, 'HEARTH_ERR_RUN_TOO_LARGE'));
    assert.deepEqual(written, []);
    client.run({ ...spec, argv: ['/x'] }, 'ext4');
    assert.equal(written.length, 1, 'a RUN that fits is sent');
    assert.equal(written[0]![1], FrameType.RUN);
  });
});
