/** The frame and record codec of docs/guest-protocol.md, byte for byte. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeRecords, encodeFrame, encodeRecords, FrameDecoder, FrameType, MAX_PAYLOAD, RECORD_HEADER_BYTES, RecordTag } from '../../src/agent/protocol.ts';

describe('guest protocol codec', () => {
  it('lays out the 12-byte little-endian header', () => {
    const frame = encodeFrame(FrameType.STOP, Buffer.from([1, 2, 3]), 7);
    assert.deepEqual([...frame], [1, 0x03, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3]);
  });

  it('reassembles frames split at any byte', () => {
    const bytes = Buffer.concat([encodeFrame(FrameType.HELLO, Buffer.from('ab')), encodeFrame(FrameType.EXIT, Buffer.alloc(8))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      assert.deepEqual(frames.map((f) => [f.type, f.payload.length]), [[FrameType.HELLO, 2], [FrameType.EXIT, 8]]);
    }
  });

  it('rejects another protocol version and oversize frames', () => {
    const bad = encodeFrame(FrameType.HELLO);
    bad[0] = 2;
    assert.throws(() => new FrameDecoder().push(bad), /version 2/);
    const big = encodeFrame(FrameType.HELLO);
    big.writeUInt32LE((1 << 20) + 1, 8);
    assert.throws(() => new FrameDecoder().push(big), /limit 1 MiB/);
  });

  it('round-trips record lists with repeated tags in order', () => {
    const encoded = encodeRecords([[1, 'a'], [2, 'K=V'], [1, 'b'], [3, Buffer.from([0, 255])]]);
    assert.deepEqual(
      decodeRecords(encoded).map(([t, v]) => [t, [...v]]),
      [[1, [97]], [2, [...Buffer.from('K=V')]], [1, [98]], [3, [0, 255]]],
    );
    assert.throws(() => decodeRecords(encoded.subarray(0, encoded.length - 1)), /truncated/);
  });

  it('has the limits of the guest side (guest/init/src/protocol.h)', () => {
    const header = readFileSync(join(import.meta.dirname, '..', '..', 'guest', 'init', 'src', 'protocol.h'), 'utf8');
    const define = (name: string) => {
      const m = new RegExp(`#define ${name} (.+)`).exec(header);
      assert.ok(m, name);
      return Function(`return ${m[1]!.replace(/(\d+)u\b/g, '$1')}`)() as number;
    };
    assert.equal(define('FRAME_MAX_PAYLOAD'), MAX_PAYLOAD);
    assert.equal(define('RECORD_HEADER_SIZE'), RECORD_HEADER_BYTES);
  });

  it('numbers every frame type and record tag as the guest side does', () => {
    const header = readFileSync(join(import.meta.dirname, '..', '..', 'guest', 'init', 'src', 'protocol.h'), 'utf8');
    const enumValue = (name: string) => {
      const m = new RegExp(`\\b${name} = (0x[0-9a-f]+|\\d+),`).exec(header);
      assert.ok(m, `${name} in protocol.h`);
      return Number(m[1]);
    };
    for (const [name, value] of Object.entries(FrameType)) assert.equal(enumValue(`FRAME_${name}`), value, name);
    for (const [name, value] of Object.entries(RecordTag)) assert.equal(enumValue(`TAG_${name}`), value, name);
  });
});
