/**
 * The RUN message and its size: the size functions give what the real encoder makes, byte for byte, and a
 * process over the frame limit is refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRun } from '../../src/agent/run-message.ts';
import { encodeExec } from '../../src/agent/exec-message.ts';
import { decodeRecords, encodeRecords, MAX_PAYLOAD, RecordTag, recordListBytes } from '../../src/agent/protocol.ts';
import { isHearthError } from '../../src/errors.ts';
import { buildProcessSpec, REQUEST_RUN_BYTES_MAX, requestRunBytes } from '../../src/containers/process-spec.ts';

const SEED = Buffer.alloc(64, 7);

/** Strings whose UTF-8 length differs from their JS length, and the empty string. */
const awkward = ['', 'a', 'é', '日本語', '🙂🙂', 'x'.repeat(1000), 'NAME=va=lue', 'tab\tand\nnewline'];

describe('RUN message size', () => {
  it('recordListBytes is the length encodeRecords gives, strings and buffers alike', () => {
    const values = [...awkward, Buffer.from([0, 1, 2]), Buffer.alloc(0)];
    assert.equal(recordListBytes(values), encodeRecords(values.map((v) => [RecordTag.ARG, v])).length);
    assert.equal(recordListBytes([]), 0);
  });

  it("requestRunBytes is exactly what a request's args and env_vars add to the encoded RUN payload", () => {
    const image = { entrypoint: ['/entry'], env: ['FROM_IMAGE=1', 'PATH=/bin'], workingDir: '/w', user: 'app' };
    const base = { hostname: 'abcdef012345', extraHosts: ['10.0.0.2\tabcdef012345'], resolvConf: 'nameserver 10.0.0.1\n' };
    const args = [...awkward, 'last'];
    const env = { A: 'é', '日本': '語', EMPTY: '', WITH_EQ: 'a=b', LONG: 'y'.repeat(5000) };
    const clock = 1_700_000_000_000_000_000n;
    const without = encodeRun(buildProcessSpec(image, { ...base, args: [], env: {} }), 'erofs', { clockNs: clock, randomSeed: SEED });
    const withRequest = encodeRun(buildProcessSpec(image, { ...base, args, env }), 'erofs', { clockNs: clock, randomSeed: SEED });
    const size = requestRunBytes(args, env);
    assert.equal(size.args, recordListBytes(args));
    assert.equal(withRequest.length - without.length, size.args + size.env);
    // And the payload is the records the guest reads: argv then env as given, merged the Docker way.
    const sent = decodeRecords(withRequest);
    assert.deepEqual(sent.filter(([t]) => t === RecordTag.ARG).map(([, v]) => v.toString()), ['/entry', ...args]);
    assert.ok(sent.some(([t, v]) => t === RecordTag.ENV && v.toString() === `LONG=${'y'.repeat(5000)}`));
  });

  it('tty and stdin_open add their records and TERM, counted in requestRunBytes; without them RUN is unchanged', () => {
    const image = { entrypoint: ['/bin/sh'], env: ['PATH=/bin'] };
    const base = { args: ['-i'], env: { A: '1' }, hostname: 'abcdef012345' };
    const clock = 1_700_000_000_000_000_000n;
    const plain = encodeRun(buildProcessSpec(image, base), 'ext4', { clockNs: clock, randomSeed: SEED });
    assert.deepEqual(encodeRun(buildProcessSpec(image, { ...base, tty: false, stdinOpen: false }), 'ext4', { clockNs: clock, randomSeed: SEED }), plain);
    const plainSize = requestRunBytes(base.args, base.env);
    assert.equal(plainSize.stdio, 0);
    for (const flags of [{ tty: true }, { stdinOpen: true }, { tty: true, stdinOpen: true }]) {
      const run = encodeRun(buildProcessSpec(image, { ...base, ...flags }), 'ext4', { clockNs: clock, randomSeed: SEED });
      const size = requestRunBytes(base.args, base.env, flags);
      assert.equal(run.length - plain.length, size.stdio, JSON.stringify(flags));
      const sent = decodeRecords(run);
      assert.equal(sent.some(([t, v]) => t === RecordTag.TTY && v[0] === 1), flags.tty === true);
      assert.equal(sent.some(([t, v]) => t === RecordTag.STDIN && v[0] === 1), flags.stdinOpen === true);
      assert.equal(sent.some(([t, v]) => t === RecordTag.ENV && v.toString() === 'TERM=xterm'), flags.tty === true);
    }
    // A TERM of the image's or the request's is kept (the count still includes one, so it never falls short).
    const own = decodeRecords(encodeRun(buildProcessSpec({ ...image, env: ['TERM=vt100'] }, { ...base, tty: true }), 'ext4', { clockNs: clock, randomSeed: SEED }));
    assert.deepEqual(own.filter(([t, v]) => t === RecordTag.ENV && v.toString().startsWith('TERM=')).map(([, v]) => v.toString()), ['TERM=vt100']);
  });

  it('a request using all the room it is given still fits beside a modest image', () => {
    const image = { entrypoint: ['/bin/sh', '-c'], env: Array.from({ length: 40 }, (_, i) => `IMAGE_VAR_${i}=${'v'.repeat(200)}`) };
    // 1000 args of 1000 bytes: about a 1 MB body, as the API documentation promises room for.
    const args = Array.from({ length: 1000 }, (_, i) => String(i).padEnd(1000, 'a'));
    assert.ok(recordListBytes(args) <= REQUEST_RUN_BYTES_MAX);
    const fill = REQUEST_RUN_BYTES_MAX - recordListBytes(args) - (6 + 'FILL='.length);
    const env = { FILL: 'f'.repeat(fill) };
    const size = requestRunBytes(args, env);
    assert.equal(size.args + size.env, REQUEST_RUN_BYTES_MAX);
    const spec = buildProcessSpec(image, { args, env, hostname: 'abcdef012345', extraHosts: ['10.213.0.2\tabcdef012345'], resolvConf: 'nameserver 10.213.0.1\n' });
    assert.ok(encodeRun(spec, 'erofs').length <= MAX_PAYLOAD);
  });

  it('carries each volume as a MOUNT record holding its fields, in order, after the process', () => {
    const spec = buildProcessSpec({}, { args: ['/x'], env: {}, hostname: 'h' });
    const mounts = [
      { source: 'vol0', fsType: 'ext4' as const, target: '/data', readOnly: false, copyUp: true },
      { source: 'fs0', fsType: 'virtiofs' as const, target: '/srv/shared', readOnly: true, copyUp: false },
    ];
    const records = decodeRecords(encodeRun(spec, 'ext4', { clockNs: 1n, mounts }));
    const found = records.filter(([tag]) => tag === RecordTag.MOUNT).map(([, value]) => {
      const fields = new Map(decodeRecords(value).map(([tag, v]) => [tag, v]));
      return {
        source: fields.get(RecordTag.MOUNT_SOURCE)?.toString(),
        fsType: fields.get(RecordTag.MOUNT_FSTYPE)?.toString(),
        target: fields.get(RecordTag.MOUNT_TARGET)?.toString(),
        readOnly: fields.get(RecordTag.MOUNT_READONLY)?.[0] === 1,
        copyUp: fields.get(RecordTag.MOUNT_COPY_UP)?.[0] === 1,
      };
    });
    assert.deepEqual(found, mounts);
    assert.equal(records.findIndex(([tag]) => tag === RecordTag.MOUNT), records.length - 2, 'the mounts come last');
  });

  it('carries a tmpfs as a MOUNT record of type tmpfs with its OPTIONS; other mounts have none', () => {
    const spec = buildProcessSpec({}, { args: ['/x'], env: {}, hostname: 'h' });
    const mounts = [
      { source: 'vol0', fsType: 'ext4' as const, target: '/data', readOnly: false, copyUp: false },
      { source: 'tmpfs', fsType: 'tmpfs' as const, target: '/run', readOnly: false, copyUp: false, options: 'noexec,nosuid,nodev,size=64m' },
    ];
    const options = decodeRecords(encodeRun(spec, 'ext4', { clockNs: 1n, mounts }))
      .filter(([tag]) => tag === RecordTag.MOUNT)
      .map(([, value]) => {
        const fields = new Map(decodeRecords(value).map(([tag, v]) => [tag, v.toString()]));
        return [fields.get(RecordTag.MOUNT_FSTYPE), fields.get(RecordTag.MOUNT_OPTIONS)];
      });
    assert.deepEqual(options, [['ext4', undefined], ['tmpfs', 'noexec,nosuid,nodev,size=64m']]);
  });

  it('carries the capabilities as a u64 CAPABILITIES record in RUN and EXEC, only when given', () => {
    const caps = (payload: Buffer) => decodeRecords(payload).filter(([tag]) => tag === RecordTag.CAPABILITIES).map(([, v]) => v.readBigUInt64LE(0));
    const spec = buildProcessSpec({ cmd: ['/bin/true'] }, { args: [], env: {}, hostname: 'h', capabilities: 0xa80425fb });
    assert.deepEqual(caps(encodeRun(spec, 'ext4', { clockNs: 1n })), [0xa80425fbn]);
    assert.deepEqual(caps(encodeRun(buildProcessSpec({ cmd: ['/bin/true'] }, { args: [], env: {}, hostname: 'h' }), 'ext4', { clockNs: 1n })), []);
    const exec = { argv: ['id'], env: [], cwd: '/', user: '', tty: false, stdin: false };
    assert.deepEqual(caps(encodeExec({ ...exec, capabilities: 2 ** 41 - 1 })), [2n ** 41n - 1n]);
    assert.deepEqual(caps(encodeExec(exec)), []);
  });

  it('refuses a process over the frame limit with HEARTH_ERR_RUN_TOO_LARGE, naming the sizes', () => {
    const spec = buildProcessSpec({ env: [`BIG=${'b'.repeat(MAX_PAYLOAD)}`] }, { args: ['/x'], env: {}, hostname: 'h' });
    assert.throws(
      () => encodeRun(spec, 'ext4'),
      (e) =>
        isHearthError(e, 'HEARTH_ERR_RUN_TOO_LARGE') &&
        /RUN message would be \d+ bytes, over the guest protocol's limit of 1048576/.test(e.message) &&
        /environment \d+ bytes in 3 entries/.test(e.message),
    );
  });

  it("carries the container's memory limit as MEMORY_MAX (u64 bytes), only when there is one", () => {
    const spec = buildProcessSpec({ cmd: ['/bin/true'] }, { args: [], env: {}, hostname: 'h' });
    const limit = (payload: Buffer) => decodeRecords(payload).filter(([tag]) => tag === RecordTag.MEMORY_MAX).map(([, v]) => v.readBigUInt64LE(0));
    assert.deepEqual(limit(encodeRun(spec, 'ext4', { clockNs: 1n, limits: { memoryMaxBytes: 64 * 2 ** 20 } })), [64n * 2n ** 20n]);
    assert.deepEqual(limit(encodeRun(spec, 'ext4', { clockNs: 1n })), []);
  });

  it("carries eth0's identity and a random seed of its own in every RUN", () => {
    const spec = buildProcessSpec({ cmd: ['/bin/true'] }, { args: [], env: {}, hostname: 'h' });
    const network = { address: '10.88.0.5/16', gateway: '10.88.0.1', mac: '02:ab:cd:00:11:ff' };
    const records = decodeRecords(encodeRun(spec, 'ext4', { network }));
    const value = (tag: number) => records.filter(([t]) => t === tag).map(([, v]) => v.toString());
    assert.deepEqual([value(RecordTag.NET_ADDRESS), value(RecordTag.NET_GATEWAY), value(RecordTag.NET_MAC)], [['10.88.0.5/16'], ['10.88.0.1'], ['02:ab:cd:00:11:ff']]);
    const seeds = [encodeRun(spec, 'ext4'), encodeRun(spec, 'ext4')].map((p) => decodeRecords(p).find(([t]) => t === RecordTag.RANDOM_SEED)![1]);
    assert.equal(seeds[0]!.length, 64);
    assert.notDeepEqual(seeds[0], seeds[1], 'two RUNs never carry the same seed');
    assert.deepEqual(decodeRecords(encodeRun(spec, 'ext4')).filter(([t]) => t === RecordTag.NET_ADDRESS), [], 'no network, no address');
  });
});
