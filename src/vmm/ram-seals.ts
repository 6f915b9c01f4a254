/**
 * Sealed copies of saved VMs' RAM, one per RAM file, made on first use and held while this process runs: every
 * VM resuming from the same saved VM maps the same copy copy-on-write, so the pages they have not written are
 * in the host's memory once (docs/snapshots.md). Sealed, because a VMM maps its RAM file writable even to map
 * it privately, and a VMM taken over by its guest must not be able to change what later clones start from.
 * @module
 */
import { stat } from 'node:fs/promises';
import { sealCopy, type SealedCopy } from '../tools/ramseal.ts';

/**
 * By RAM file, then by which version of it (a file written again under the same name gets a new copy): one
 * copy per file in this process, however many drivers it has (tests make several).
 */
const held = new Map<string, { version: string; copy: Promise<SealedCopy> }>();

export class RamSeals {
  constructor(private readonly binary: string) {}

  /** The path (for root) of the sealed copy of `file`, made now if there is none or its holder has ended. */
  async pathOf(file: string): Promise<string> {
    const { ino, mtimeMs, size } = await stat(file);
    const version = `${ino}:${mtimeMs}:${size}`;
    let entry = held.get(file);
    if (entry?.version !== version) {
      this.forget(file);
      const copy = sealCopy(this.binary, file);
      entry = { version, copy };
      held.set(file, entry);
      const mine = entry;
      copy.then(
        (c) => void c.ended.then(() => held.get(file) === mine && held.delete(file)),
        () => held.get(file) === mine && held.delete(file),
      );
    }
    return (await entry.copy).path;
  }

  /** Ends the copy of `file`, if one is held (VMMs that mapped it keep it). */
  forget(file: string): void {
    const entry = held.get(file);
    if (!entry) return;
    held.delete(file);
    void entry.copy.then((c) => c.end(), () => undefined);
  }
}
