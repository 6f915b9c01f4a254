/** mkfs.erofs (erofs-utils): a read-only EROFS image of a directory, sized by the tool itself. */
import { runTool } from './run.ts';

export async function buildErofsFromDirectory(file: string, directory: string): Promise<void> {
  // uncompressed: the guest reads it directly, and the disk is shared by every VM of the image
  await runTool('mkfs.erofs', ['--quiet', '-x1', '--preserve-mtime', file, directory]);
}
