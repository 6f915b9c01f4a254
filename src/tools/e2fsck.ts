/** e2fsck (e2fsprogs): the journal of an ext4 disk image replayed on the host. */
import { runTool } from './run.ts';

/**
 * Replays the journal of the ext4 image `file` if it needs it and checks nothing else (`-E journal_only`):
 * what a kernel does when it mounts the filesystem read-write, for a disk that is to be mounted read-only.
 */
export async function replayJournal(file: string): Promise<void> {
  // 1: "errors corrected", which is what a replay reports.
  await runTool('e2fsck', ['-p', '-E', 'journal_only', file], { okExitCodes: [1], timeoutMs: 120_000 });
}
