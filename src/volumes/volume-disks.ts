/**
 * The disks of volumes: one sparse ext4 image per volume, `<dir>/<name>.ext4`, made by copying an empty
 * template (the sandbox's scratch-disk templates, handed in as `makeEmpty`: a few ms, whatever the size).
 * Only what is written takes space on the host. Which volumes exist is the store's to say; this folder holds
 * their bytes, and whatever file no row names is an orphan (`names` lists them all).
 *
 * A disk is attached to at most one VM read-write, or to any number read-only (the containers layer keeps
 * that rule: ext4 is not a cluster filesystem). Before a read-only attach, a journal left unreplayed by a VM
 * that was killed is replayed here (`prepareReadOnly`), as the kernel would on a read-write mount: a guest
 * cannot replay it on a read-only disk, and mounting without it would show the disk as it was before.
 * @module
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { replayJournal } from '../tools/e2fsck.ts';
import { ext4Usage } from './ext4-usage.ts';

const SUFFIX = '.ext4';

export interface VolumeUsage {
  /** The filesystem's capacity. */
  sizeBytes: number;
  /** What its files and directories take, as of its last superblock write (see ext4-usage.ts). */
  usedBytes: number;
  /** What the sparse disk image takes on the host. */
  diskBytes: number;
}

export class VolumeDisks {
  constructor(
    private readonly dir: string,
    /** Writes an empty ext4 disk of `sizeMib` at `destination`, atomically (a temporary name, then a rename). */
    private readonly makeEmpty: (destination: string, sizeMib: number) => Promise<void>,
  ) {}

  path(name: string): string {
    return path.join(this.dir, `${name}${SUFFIX}`);
  }

  /** Makes the volume's empty disk (a disk already there is kept: a retried create finds it made). */
  async create(name: string, sizeMib: number): Promise<void> {
    if (await this.exists(name)) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.makeEmpty(this.path(name), sizeMib);
  }

  async exists(name: string): Promise<boolean> {
    return stat(this.path(name)).then(() => true, () => false);
  }

  async remove(name: string): Promise<void> {
    await rm(this.path(name), { force: true });
  }

  async usage(name: string): Promise<VolumeUsage> {
    const file = this.path(name);
    const [fs, st] = await Promise.all([ext4Usage(file), stat(file)]);
    return { sizeBytes: fs.sizeBytes, usedBytes: fs.usedBytes, diskBytes: st.blocks * 512 };
  }

  /** Replays the journal a killed VM left, if any; only while no VM has the disk attached. */
  async prepareReadOnly(name: string): Promise<void> {
    if ((await ext4Usage(this.path(name))).needsRecovery) await replayJournal(this.path(name));
  }

  /** Every volume disk here, and every file a crash left half-made (`.partial`), by name. */
  async names(): Promise<{ disks: string[]; partial: string[] }> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    return {
      disks: files.filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length)),
      partial: files.filter((f) => f.endsWith('.partial')),
    };
  }

  /** Removes a half-made file `names` reported. */
  async removePartial(file: string): Promise<void> {
    await rm(path.join(this.dir, path.basename(file)), { force: true });
  }
}
