/**
 * The EXEC frame's record list (docs/guest-protocol.md) and the PROCESSES answer to TOP: encoding and decoding,
 * no I/O.
 * @module
 */
import { HearthError } from '../errors.ts';
import type { ExecSpec, GuestProcess } from './process.ts';
import { capabilitiesRecord, decodeRecords, encodeRecords, MAX_PAYLOAD, RecordTag, u16, type RecordValue } from './protocol.ts';

const flag = (on: boolean) => Buffer.from([on ? 1 : 0]);

/** EXEC's payload; HEARTH_ERR_EXEC_TOO_LARGE when it does not fit one frame. */
export function encodeExec(spec: ExecSpec): Buffer {
  const records: Array<[number, RecordValue]> = [
    ...spec.argv.map((a): [number, RecordValue] => [RecordTag.ARG, a]),
    ...spec.env.map((e): [number, RecordValue] => [RecordTag.ENV, e]),
  ];
  if (spec.cwd) records.push([RecordTag.CWD, spec.cwd]);
  if (spec.user) records.push([RecordTag.USER, spec.user]);
  records.push([RecordTag.TTY, flag(spec.tty)], [RecordTag.STDIN, flag(spec.stdin)]);
  if (spec.tty && spec.size) records.push([RecordTag.ROWS, u16(spec.size.rows)], [RecordTag.COLS, u16(spec.size.cols)]);
  if (spec.capabilities !== undefined) records.push(capabilitiesRecord(spec.capabilities));
  const payload = encodeRecords(records);
  if (payload.length > MAX_PAYLOAD) {
    throw new HearthError(
      'InvalidArgument',
      'HEARTH_ERR_EXEC_TOO_LARGE',
      `the exec cannot be sent to the guest: its EXEC message would be ${payload.length} bytes, over the guest protocol's limit of ${MAX_PAYLOAD}: shorten its cmd or env`,
    );
  }
  return payload;
}

/** RESIZE's payload: u16 rows, u16 cols. */
export function encodeResize(rows: number, cols: number): Buffer {
  return Buffer.concat([u16(rows), u16(cols)]);
}

/** The PROCESSES payload: one PROCESS record per process, each a record list. */
export function decodeProcesses(payload: Buffer): GuestProcess[] {
  const list: GuestProcess[] = [];
  for (const [tag, value] of decodeRecords(payload)) {
    if (tag !== RecordTag.PROCESS) continue;
    const p: GuestProcess = { pid: 0, ppid: 0, user: '', command: '', cpuTimeMs: 0, rssBytes: 0 };
    for (const [t, v] of decodeRecords(value)) {
      if (t === RecordTag.PID && v.length >= 4) p.pid = v.readUInt32LE(0);
      else if (t === RecordTag.PPID && v.length >= 4) p.ppid = v.readUInt32LE(0);
      else if (t === RecordTag.PROC_USER) p.user = v.toString('utf8');
      else if (t === RecordTag.CMDLINE) p.command = v.toString('utf8');
      else if (t === RecordTag.CPU_MS && v.length >= 8) p.cpuTimeMs = Number(v.readBigUInt64LE(0));
      else if (t === RecordTag.RSS && v.length >= 8) p.rssBytes = Number(v.readBigUInt64LE(0));
    }
    list.push(p);
  }
  return list;
}
