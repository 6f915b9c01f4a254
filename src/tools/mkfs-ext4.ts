/** mkfs.ext4 (e2fsprogs): empty writable disks, and read-only image disks built from a directory without mounting. */
import { runTool } from './run.ts';

/** A sparse file of `sizeMib` MiB holding an empty ext4 filesystem, made lazily so it stays sparse. */
export async function formatEmptyExt4(file: string, sizeMib: number): Promise<void> {
  await runTool('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-m', '0', file, `${sizeMib}M`]);
}

/**
 * A read-only image disk holding exactly the tree under `directory`: no journal (never written), no
 * reserved blocks, root owned by root, and an inode count from the caller (a fixed guess fails on big trees).
 */
export async function buildReadonlyExt4(file: string, directory: string, sizeBytes: number, inodes: number): Promise<void> {
  const kib = Math.ceil(sizeBytes / 4096) * 4;
  await runTool('mkfs.ext4', [
    '-q', '-F', '-t', 'ext4', '-b', '4096', '-m', '0', '-O', '^has_journal,^resize_inode',
    '-E', 'root_owner=0:0,lazy_itable_init=0', '-I', '256', '-N', String(inodes), '-L', 'hearth-image',
    '-d', directory, file, `${kib}k`,
  ]);
}
