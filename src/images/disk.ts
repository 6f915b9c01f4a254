/**
 * Turns an extracted root filesystem into a read-only disk image without mounting anything.
 * ext4 via `mkfs.ext4 -d` (sized from the content, inode count from the file count, grown and retried if
 * the estimate was short) or EROFS via `mkfs.erofs` (which sizes itself).
 * @module
 */
import * as fs from 'node:fs';
import { isHearthError } from '../errors.ts';
import { buildErofsFromDirectory } from '../tools/mkfs-erofs.ts';
import { buildReadonlyExt4 } from '../tools/mkfs-ext4.ts';
import type { TreeStats } from './layer-apply.ts';

export type FsType = 'ext4' | 'erofs';

const MIB = 1024 * 1024;

/** ext4 size: content rounded to blocks, inode tables, metadata, and headroom. */
export function ext4Size(stats: TreeStats): { bytes: number; inodes: number } {
  const inodes = Math.ceil((stats.files + 64) * 1.2) + 256;
  const content = stats.bytes + stats.files * 64; // directory entries
  const bytes = Math.ceil((content * 1.1 + inodes * 256 + 16 * MIB) / MIB) * MIB;
  return { bytes, inodes };
}

export async function buildDisk(file: string, directory: string, stats: TreeStats, fsType: FsType): Promise<void> {
  if (fsType === 'erofs') {
    await buildErofsFromDirectory(file, directory);
    return;
  }
  let { bytes, inodes } = ext4Size(stats);
  for (let attempt = 0; ; attempt++) {
    try {
      await buildReadonlyExt4(file, directory, bytes, inodes);
      return;
    } catch (e) {
      // an estimate that fell short: mkfs reports "Could not allocate block" / "No space left"
      if (attempt >= 2 || !isHearthError(e, 'HEARTH_ERR_TOOL_FAILED')) throw e;
      fs.rmSync(file, { force: true });
      bytes *= 2;
      inodes *= 2;
    }
  }
}
