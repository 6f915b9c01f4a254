/**
 * The STAT_RESULT record list (docs/guest-protocol.md): what `docker cp` shows of a path.
 * @module
 */
import { decodeRecords, RecordTag } from './protocol.ts';

export interface PathStat {
  /** The path's last component. */
  name: string;
  size: number;
  /** st_mode: the file type and permission bits. */
  mode: number;
  mtime: Date;
  /** A symlink's target as stored; '' otherwise. */
  linkTarget: string;
}

export function decodeStat(payload: Buffer): PathStat {
  const stat: PathStat = { name: '', size: 0, mode: 0, mtime: new Date(0), linkTarget: '' };
  for (const [tag, value] of decodeRecords(payload)) {
    if (tag === RecordTag.NAME) stat.name = value.toString('utf8');
    else if (tag === RecordTag.SIZE && value.length >= 8) stat.size = Number(value.readBigUInt64LE(0));
    else if (tag === RecordTag.MODE && value.length >= 4) stat.mode = value.readUInt32LE(0);
    else if (tag === RecordTag.MTIME && value.length >= 8) stat.mtime = new Date(Number(value.readBigUInt64LE(0) / 1_000_000n));
    else if (tag === RecordTag.LINK_TARGET) stat.linkTarget = value.toString('utf8');
  }
  return stat;
}
