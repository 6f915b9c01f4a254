/**
 * mkfs.ext4 for read-only image disks: no journal, no reserved blocks, root owned by root, a given inode count.
 * (The writable-disk helpers live in mkfs-ext4.ts.)
 */
import { runTool } from './run.ts';

export async function buildReadonlyExt4(file: string, directory: string, sizeBytes: number, inodes: number): Promise<void> {
  const kib = Math.ceil(sizeBytes / 4096) * 4;
  await runTool('mkfs.ext4', [
    '-q', '-F', '-t', 'ext4', '-b', '4096', '-m', '0', '-O', '^has_journal,^resize_inode',
    '-E', 'root_owner=0:0,lazy_itable_init=0', '-I', '256', '-N', String(inodes), '-L', 'hearth-image',
    '-d', directory, file, `${kib}k`,
  ]);
}
