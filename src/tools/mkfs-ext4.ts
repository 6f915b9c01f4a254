/** mkfs.ext4 (e2fsprogs): empty writable disks, and disks built from a directory without mounting. */
import { runTool } from './run.ts';

/** A sparse file of `sizeMib` MiB holding an empty ext4 filesystem, made lazily so it stays sparse. */
export async function formatEmptyExt4(file: string, sizeMib: number): Promise<void> {
  await runTool('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-m', '0', file, `${sizeMib}M`]);
}

/**
 * An ext4 image of `sizeMib` MiB holding exactly the tree under `directory`, built without mounting.
 * Owners come from the files themselves, so the tree must be written as root.
 */
export async function buildExt4FromDirectory(file: string, directory: string, sizeMib: number, inodes?: number): Promise<void> {
  const args = ['-q', '-F', '-t', 'ext4', '-m', '0', '-d', directory];
  if (inodes !== undefined) args.push('-N', String(inodes));
  await runTool('mkfs.ext4', [...args, file, `${sizeMib}M`]);
}
