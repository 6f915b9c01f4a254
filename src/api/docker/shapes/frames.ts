/**
 * Docker's stream framing: without a TTY, stdout and stderr share one connection as frames of an 8-byte
 * header (the stream: 0 stdin, 1 stdout, 2 stderr; three zero bytes; the payload's length, big-endian)
 * and the payload (`application/vnd.docker.multiplexed-stream`); with a TTY the bytes go as they are
 * (`application/vnd.docker.raw-stream`). And the log timestamps and times the CLI sends.
 * @module
 */
import { invalidParameter } from '../errors.ts';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** Largest payload a frame carries (a longer chunk becomes several frames). */
const MAX_FRAME = 32 * 1024;

export function frame(stream: 'stdout' | 'stderr', data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length || (at === 0 && data.length === 0); at += MAX_FRAME) {
    const payload = data.subarray(at, at + MAX_FRAME);
    const header = Buffer.alloc(8);
    header[0] = stream === 'stdout' ? 1 : 2;
    header.writeUInt32BE(payload.length, 4);
    parts.push(header, payload);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

/** Reads frames back (tests, and clients of this module): [stream, payload] in order; a partial tail is left. */
export function unframe(buf: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    if (at + 8 + size > buf.length) break;
    out.push([buf[at]!, buf.subarray(at + 8, at + 8 + size)]);
    at += 8 + size;
  }
  return out;
}

/** The content type of a process's output stream: raw with a TTY; multiplexed otherwise (API 1.42 on). */
export function streamType(tty: boolean, multiplexedNamed: boolean): string {
  return tty || !multiplexedNamed ? RAW_STREAM : MULTIPLEXED_STREAM;
}

/**
 * A time as the CLI sends `since`/`until`: Unix seconds with an optional fraction (`1700000000.123456789`),
 * or RFC 3339. Undefined when absent or 0 (dockerd's "not set").
 */
export function parseDockerTime(v: string | undefined, name: string): Date | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    return new Date(Number(s) * 1000 + Math.floor(Number(`0.${frac || '0'}`) * 1000));
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidParameter(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return new Date(t);
}
