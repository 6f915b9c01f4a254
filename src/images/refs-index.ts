/**
 * The refs index, `<dataDir>/images/refs.json`: canonical reference -> the manifest digest it names (and the
 * index digest it was chosen from), when it was pulled and when a container last used it.
 *
 * It is read once, when the store opens, and kept in memory; every change is written whole to a temporary
 * file, synced and renamed over the old one (then the directory is synced), so the file is always either
 * the old index or the new one, whatever kills the process. Writes are queued one after another and each
 * writes what memory holds when its turn comes, so the last write always holds the last change.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { HearthError } from '../errors.ts';

export interface RefEntry {
  manifestDigest: string;
  indexDigest?: string;
  /** ISO time of the pull that set it. */
  pulledAt: string;
  /**
   * ISO time a container last had this reference resolved, or a collection found a container using it;
   * orders unused images for the collector.
   */
  usedAt?: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export class RefsIndex {
  private entries = new Map<string, RefEntry>();
  private writing: Promise<void> = Promise.resolve();
  /** A `touch` not written yet; the next write carries it. */
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly tmpDir: string,
  ) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw corrupt(this.file, (e as Error).message, e);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw corrupt(this.file, (e as Error).message, e);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw corrupt(this.file, 'not a JSON object');
    for (const [ref, e] of Object.entries(doc as Record<string, Partial<RefEntry>>)) {
      if (typeof e?.manifestDigest !== 'string' || !DIGEST.test(e.manifestDigest)) throw corrupt(this.file, `entry ${ref} has no manifest digest`);
      this.entries.set(ref, {
        manifestDigest: e.manifestDigest,
        ...(typeof e.indexDigest === 'string' ? { indexDigest: e.indexDigest } : {}),
        pulledAt: typeof e.pulledAt === 'string' ? e.pulledAt : '',
        ...(typeof e.usedAt === 'string' ? { usedAt: e.usedAt } : {}),
      });
    }
  }

  get(ref: string): RefEntry | undefined {
    return this.entries.get(ref);
  }

  all(): [string, RefEntry][] {
    return [...this.entries];
  }

  /** References naming a digest, as a manifest or as the index it was chosen from. */
  naming(digest: string): string[] {
    return this.all()
      .filter(([, e]) => e.manifestDigest === digest || e.indexDigest === digest)
      .map(([ref]) => ref);
  }

  set(ref: string, entry: RefEntry): Promise<void> {
    this.entries.set(ref, entry);
    return this.save();
  }

  delete(refs: readonly string[]): Promise<void> {
    for (const r of refs) this.entries.delete(r);
    return this.save();
  }

  /**
   * Records a use in memory only: it orders the collector's choices, and is not worth a synced write on
   * every container start. The next write (a pull, a removal, a collection) carries it.
   */
  touch(ref: string, at: string): void {
    const e = this.entries.get(ref);
    if (!e) return;
    e.usedAt = at;
    this.dirty = true;
  }

  /** Writes what memory holds if a `touch` has not been written yet. */
  flush(): Promise<void> {
    return this.dirty ? this.save() : this.writing.catch(() => {});
  }

  private save(): Promise<void> {
    this.writing = this.writing.catch(() => {}).then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    this.dirty = false;
    try {
      await this.replaceFile();
    } catch (e) {
      this.dirty = true; // memory holds what the file does not: the next write tries again
      throw e;
    }
  }

  private async replaceFile(): Promise<void> {
    const text = `${JSON.stringify(Object.fromEntries(this.entries), null, 2)}\n`;
    const tmp = path.join(this.tmpDir, `refs-${randomBytes(6).toString('hex')}.json`);
    const fh = await fsp.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file);
    const dir = await fsp.open(path.dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

function corrupt(file: string, why: string, cause?: unknown): HearthError {
  return new HearthError(
    'Internal',
    'HEARTH_ERR_IMAGE_STORE_CORRUPT',
    `cannot read the image index ${file}: ${why}; move it away and pull the images again (their blobs are reused)`,
    { cause },
  );
}
