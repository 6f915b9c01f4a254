/**
 * Host side of the guest control protocol; docs/guest-protocol.md is the specification and
 * guest/init/ the other end. Frames: a 12-byte little-endian header, then the payload.
 */
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 12;
/** The largest payload of any frame, either way (guest/init/src/protocol.h FRAME_MAX_PAYLOAD). */
export const MAX_PAYLOAD = 1 << 20;
/** A record's `u16 tag` and `u32 length`. */
export const RECORD_HEADER_BYTES = 6;

export const FrameType = {
  RUN: 0x01,
  SIGNAL: 0x02,
  STOP: 0x03,
  EXIT_ACK: 0x04,
  EXEC: 0x05,
  STDIN: 0x06,
  STDIN_EOF: 0x07,
  RESIZE: 0x08,
  TOP: 0x09,
  CLOCK: 0x0a,
  COPY_OUT: 0x0b,
  COPY_IN: 0x0c,
  STAT: 0x0d,
  STATS: 0x0e,
  HELLO: 0x81,
  STARTED: 0x82,
  OUTPUT: 0x83,
  EXIT: 0x84,
  ERROR: 0x85,
  LOG: 0x86,
  PROCESSES: 0x87,
  STAT_RESULT: 0x88,
  STATS_RESULT: 0x89,
} as const;

export const RecordTag = {
  ARG: 1,
  ENV: 2,
  CWD: 3,
  USER: 4,
  HOSTNAME: 5,
  HOSTS: 6,
  RESOLV_CONF: 7,
  ROOTFS_TYPE: 8,
  CLOCK: 9,
  AGENT_VERSION: 16,
  STATE: 17,
  PID: 18,
  EXIT_CODE: 19,
  TTY: 20,
  STDIN: 21,
  ROWS: 22,
  COLS: 23,
  PROCESS: 24,
  PPID: 25,
  PROC_USER: 26,
  CMDLINE: 27,
  CPU_MS: 28,
  RSS: 29,
  NAME: 30,
  SIZE: 31,
  MODE: 32,
  MTIME: 33,
  LINK_TARGET: 34,
  MEMORY_MAX: 40,
  OOM_KILLED: 41,
  CPU_USAGE_USEC: 42,
  CPU_USER_USEC: 43,
  CPU_SYSTEM_USEC: 44,
  MEMORY_CURRENT: 45,
  MEMORY_ANON: 46,
  MEMORY_FILE: 47,
  MEMORY_INACTIVE_FILE: 48,
  OOM_KILLS: 49,
  PIDS_CURRENT: 50,
  GUEST_CPU_USEC: 51,
  ONLINE_CPUS: 52,
  MOUNT: 60,
  MOUNT_SOURCE: 61,
  MOUNT_FSTYPE: 62,
  MOUNT_TARGET: 63,
  MOUNT_READONLY: 64,
  MOUNT_COPY_UP: 65,
  MOUNT_OPTIONS: 66,
  CAPABILITIES: 70,
  NET_ADDRESS: 80,
  NET_GATEWAY: 81,
  NET_MAC: 82,
  RANDOM_SEED: 83,
} as const;

export interface Frame {
  type: number;
  session: number;
  payload: Buffer;
}

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0), session = 0): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes exceeds 1 MiB`);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(PROTOCOL_VERSION, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16LE(0, 2);
  header.writeUInt32LE(session, 4);
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frames; feed it chunks as they arrive. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const version = this.pending.readUInt8(0);
      if (version !== PROTOCOL_VERSION) throw new Error(`guest agent speaks protocol version ${version}, expected ${PROTOCOL_VERSION}`);
      const length = this.pending.readUInt32LE(8);
      if (length > MAX_PAYLOAD) throw new Error(`guest agent sent a frame of ${length} bytes (limit 1 MiB)`);
      if (this.pending.length < HEADER_BYTES + length) break;
      frames.push({
        type: this.pending.readUInt8(1),
        session: this.pending.readUInt32LE(4),
        payload: this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length),
      });
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return frames;
  }
}

export type RecordValue = string | Buffer;

export function encodeRecords(records: ReadonlyArray<readonly [number, RecordValue]>): Buffer {
  const parts: Buffer[] = [];
  for (const [tag, value] of records) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const head = Buffer.alloc(RECORD_HEADER_BYTES);
    head.writeUInt16LE(tag, 0);
    head.writeUInt32LE(bytes.length, 2);
    parts.push(head, bytes);
  }
  return Buffer.concat(parts);
}

/** The bytes `encodeRecords` makes of records holding `values`, whatever their tags: without encoding them. */
export function recordListBytes(values: Iterable<RecordValue>): number {
  let total = 0;
  for (const v of values) total += RECORD_HEADER_BYTES + (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length);
  return total;
}

export function decodeRecords(payload: Buffer): Array<[number, Buffer]> {
  const records: Array<[number, Buffer]> = [];
  let offset = 0;
  while (offset + RECORD_HEADER_BYTES <= payload.length) {
    const tag = payload.readUInt16LE(offset);
    const length = payload.readUInt32LE(offset + 2);
    const end = offset + RECORD_HEADER_BYTES + length;
    if (end > payload.length) throw new Error('guest agent sent a truncated record');
    records.push([tag, payload.subarray(offset + RECORD_HEADER_BYTES, end)]);
    offset = end;
  }
  return records;
}

export function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value, 0);
  return b;
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return b;
}

export function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value & 0xffff, 0);
  return b;
}

/** RUN's and EXEC's CAPABILITIES record: the u64 mask (bit n for capability n) the process runs with. */
export function capabilitiesRecord(mask: number): [number, Buffer] {
  return [RecordTag.CAPABILITIES, u64(BigInt(mask))];
}
