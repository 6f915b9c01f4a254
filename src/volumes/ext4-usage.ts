/**
 * What an ext4 disk image holds, read from its superblock without mounting it: its size, the bytes its files
 * and directories take (as `df` inside would count them: blocks in use less the filesystem's own overhead),
 * and whether its journal waits to be replayed. The superblock is written by the guest's kernel at unmount
 * and sync, so while a VM writes the disk the figure may lag by what it wrote since.
 * @module
 */
import { open } from 'node:fs/promises';
import { HearthError } from '../errors.ts';

const SUPERBLOCK_OFFSET = 1024;
const SUPERBLOCK_BYTES = 1024;
const EXT4_MAGIC = 0xef53;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_64BIT = 0x80;

export interface Ext4Usage {
  sizeBytes: number;
  usedBytes: number;
  /** The journal holds what a kill left unreplayed: a read-only mount would refuse the disk until it is replayed. */
  needsRecovery: boolean;
}

/** The usage of the filesystem in `file` (FailedPrecondition HEARTH_ERR_VOLUME_DISK when it is not ext4). */
export async function ext4Usage(file: string): Promise<Ext4Usage> {
  const handle = await open(file, 'r');
  const sb = Buffer.alloc(SUPERBLOCK_BYTES);
  try {
    await handle.read(sb, 0, SUPERBLOCK_BYTES, SUPERBLOCK_OFFSET);
  } finally {
    await handle.close();
  }
  return parseSuperblock(sb, file);
}

export function parseSuperblock(sb: Buffer, file: string): Ext4Usage {
  if (sb.readUInt16LE(0x38) !== EXT4_MAGIC) {
    throw new HearthError('FailedPrecondition', 'HEARTH_ERR_VOLUME_DISK', `${file} holds no ext4 filesystem`);
  }
  const incompat = sb.readUInt32LE(0x60);
  const wide = (incompat & INCOMPAT_64BIT) !== 0;
  const u64 = (lo: number, hi: number) => sb.readUInt32LE(lo) + (wide ? sb.readUInt32LE(hi) * 2 ** 32 : 0);
  const blockSize = 1024 * 2 ** sb.readUInt32LE(0x18);
  const blocks = u64(0x04, 0x150);
  const free = u64(0x0c, 0x158);
  const overhead = sb.readUInt32LE(0x248);
  return {
    sizeBytes: blocks * blockSize,
    usedBytes: Math.max(0, blocks - free - overhead) * blockSize,
    needsRecovery: (incompat & INCOMPAT_RECOVER) !== 0,
  };
}
