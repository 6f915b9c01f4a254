/** What a volume disk holds, read from its superblock: a fresh disk uses almost nothing, its capacity is its size. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { formatEmptyExt4 } from '../../src/tools/mkfs-ext4.ts';
import { ext4Usage } from '../../src/volumes/ext4-usage.ts';

it("reads a disk's size, use and journal state without mounting it, and refuses what is not ext4", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-ext4-usage-'));
  try {
    const disk = path.join(dir, 'v.ext4');
    await formatEmptyExt4(disk, 512);
    const usage = await ext4Usage(disk);
    assert.equal(usage.sizeBytes, 512 * 2 ** 20);
    assert.ok(usage.usedBytes > 0 && usage.usedBytes < 64 * 1024, `an empty filesystem uses its root and lost+found only (${usage.usedBytes})`);
    assert.equal(usage.needsRecovery, false);
    const junk = path.join(dir, 'junk');
    await writeFile(junk, Buffer.alloc(4096));
    await assert.rejects(ext4Usage(junk), (e) => isHearthError(e, 'HEARTH_ERR_VOLUME_DISK'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
