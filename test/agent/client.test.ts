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

  it("reads the main process's OOM_KILLED after EXIT's code and signal, and STATS_RESULT's figures", async () => {
    const { stream, written } = peer();
    const client = new AgentClient(stream);
    const exits: unknown[] = [];
    const stats: unknown[] = [];
    client.on('exit', (e) => exits.push(e));
    client.on('sessionExit', ({ exit }) => exits.push(exit));
    client.on('stats', (s) => stats.push(s));
    const code = (n: number, signal: number) => {
      const p = Buffer.alloc(8);
      p.writeInt32LE(n, 0);
      p.writeUInt32LE(signal, 4);
      return p;
    };
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(n));
      return b;
    };
    stream.push(encodeFrame(FrameType.EXIT, Buffer.concat([code(137, 0), encodeRecords([[RecordTag.OOM_KILLED, Buffer.from([1])]])])));
    stream.push(encodeFrame(FrameType.EXIT, code(137, 9), 5));
    client.stats();
    assert.deepEqual([...written[0]!.subarray(0, 2)], [1, 0x0e], 'STATS is frame 0x0e');
    const onlineCpus = Buffer.alloc(4);
    onlineCpus.writeUInt32LE(2);
    stream.push(
      encodeFrame(
        FrameType.STATS_RESULT,
        encodeRecords([
          [RecordTag.CPU_USAGE_USEC, u64(1500)],
          [RecordTag.MEMORY_CURRENT, u64(64 << 20)],
          [RecordTag.MEMORY_MAX, u64(128 << 20)],
          [RecordTag.PIDS_CURRENT, u64(3)],
          [RecordTag.ONLINE_CPUS, onlineCpus],
          [999, 'an unknown tag is ignored'],
        ]),
      ),
    );
    await tick();
    assert.deepEqual(exits, [{ code: 137, signal: null, oomKilled: true }, { code: 137, signal: 9 }]);
    assert.deepEqual(stats, [
      {
        cpuUsageUsec: 1500, cpuUserUsec: null, cpuSystemUsec: null, memoryUsageBytes: 64 << 20, memoryLimitBytes: 128 << 20,
        memoryAnonBytes: null, memoryFileBytes: null, memoryInactiveFileBytes: null, oomKills: null, pids: 3, guestCpuUsec: null, onlineCpus: 2,
      },
    ]);
  });
});
