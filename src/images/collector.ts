/**
 * The collector: removes the disks and blobs of images no container uses, beyond `keepUnused` of them (the
 * most recently used or pulled are kept) or while the store is over `maxBytes`, and every blob and disk no
 * reference names (what an untag or a moved tag left). It never removes what a pull or a build in progress
 * pins, nor an image a container uses (usage.ts), nor the image a container's provisioning resolved.
 *
 * One collection runs under the holds lock (holds.ts), and in an order a kill -9 cannot tear:
 *   1. decide, from the refs index, the pins and the users;
 *   2. commit: write the refs index without the removed images' references (one atomic rename);
 *   3. delete disks (each renamed out of `disks/` first) and then blobs that nothing kept needs.
 * Killed after 2, the store holds blobs and disks no reference names, which the next collection (the
 * manager runs one when it starts) deletes; partial removals sit in `tmp/`, emptied when the store opens.
 * @module
 */
import type { BlobStore } from './blob-store.ts';
import type { DiskShelf } from './disk-shelf.ts';
import type { Holds } from './holds.ts';
import { parseManifest } from './manifest.ts';
import type { RefsIndex } from './refs-index.ts';
import { usersOf, type ImageUser } from './usage.ts';

export interface CollectPolicy {
  /** Images no container uses that are kept, the most recently used or pulled first. */
  keepUnused: number;
  /** Unused images are removed, oldest first, while the store takes more than this; 0: no limit. */
  maxBytes: number;
}

export interface CollectResult {
  /** Images whose references were removed. */
  images: { manifestDigest: string; refs: string[] }[];
  disks: number;
  blobs: number;
  freedBytes: number;
}

/** What the collector writes to the manager's log. */
export interface CollectorLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

interface Image {
  manifestDigest: string;
  refs: string[];
  indexDigests: string[];
  /** Every blob it needs: manifest, indexes, config, layers. Just the manifest when that is missing. */
  blobs: string[];
  lastUse: string;
}

export class Collector {
  constructor(
    private readonly blobs: BlobStore,
    private readonly refs: RefsIndex,
    private readonly disks: DiskShelf,
    private readonly holds: Holds,
    private readonly log: CollectorLog,
  ) {}

  /**
   * One collection; the caller holds the holds lock. `usage` gives every container that exists; it is read
   * as late as it can be, so that a container created while the collection starts is counted.
   */
  async collect(usage: () => Promise<readonly ImageUser[]>, policy: CollectPolicy): Promise<CollectResult> {
    const images = await this.images();
    const users = await usage();
    // pins first, then runs: a run is recorded before its pins are released (puller.ts), so an image is
    // in one snapshot or the other
    const pinned = new Set(this.holds.pinnedDigests());
    // ...and the images containers' records say they boot (a moved tag's old image may have no reference)
    const runs = new Set([...this.holds.runs.values(), ...users.flatMap((u) => (u.digest ? [u.digest] : []))]);
    const now = new Date().toISOString();
    const unused: Image[] = [];
    for (const img of images) {
      // runs count whether or not their container is among `users`: one created after `users` was read
      // may already have resolved its image
      if (runs.has(img.manifestDigest) || usersOf(img, users, new Map()).length > 0) {
        for (const r of img.refs) this.refs.touch(r, now);
      } else if (![img.manifestDigest, ...img.indexDigests].some((d) => pinned.has(d))) {
        unused.push(img);
      }
    }
    unused.sort((a, b) => b.lastUse.localeCompare(a.lastUse) || a.manifestDigest.localeCompare(b.manifestDigest));
    const removed = new Set(unused.slice(policy.keepUnused));
    if (policy.maxBytes > 0) await this.overLimit(images, unused, removed, pinned, runs, policy.maxBytes);

    // commit: only references that still name what was decided on (a pull may have moved one meanwhile)
    const gone = [...removed].flatMap((img) => img.refs.filter((r) => this.refs.get(r)?.manifestDigest === img.manifestDigest));
    // a collection that removes nothing writes nothing (its touches ride along with the next write)
    if (gone.length > 0) await this.refs.delete(gone);

    const kept = images.filter((img) => !removed.has(img));
    const liveBlobs = new Set([...kept.flatMap((img) => img.blobs), ...pinned, ...(await this.closures([...runs]))]);
    const liveDisks = new Set([...kept.map((img) => img.manifestDigest), ...pinned, ...runs]);
    const result: CollectResult = { images: [], disks: 0, blobs: 0, freedBytes: 0 };
    for (const img of removed) result.images.push({ manifestDigest: img.manifestDigest, refs: img.refs });
    for (const digest of await this.disks.list()) {
      if (liveDisks.has(digest)) continue;
      result.freedBytes += await this.disks.remove(digest);
      result.disks++;
      const img = [...removed].find((i) => i.manifestDigest === digest);
      this.log.info({ image: digest, refs: img?.refs ?? [] }, img ? `removed the disk of unused image ${img.refs.join(', ')}` : 'removed a disk no reference names');
    }
    for (const digest of await this.blobs.list()) {
      if (liveBlobs.has(digest)) continue;
      result.freedBytes += await this.blobs.delete(digest);
      result.blobs++;
    }
    if (result.disks + result.blobs > 0) {
      this.log.info({ images: result.images.length, disks: result.disks, blobs: result.blobs, freedBytes: result.freedBytes }, 'image collection freed space');
    }
    return result;
  }

  /** Adds unused images, oldest first, to `removed` until what is left fits `maxBytes`. */
  private async overLimit(
    images: Image[],
    unused: Image[],
    removed: Set<Image>,
    pinned: Set<string>,
    runs: Set<string>,
    maxBytes: number,
  ): Promise<void> {
    const blobBytes = new Map<string, number>();
    for (const d of await this.blobs.list()) blobBytes.set(d, (await this.blobs.size(d)) ?? 0);
    const diskBytes = new Map<string, number>();
    for (const d of await this.disks.list()) diskBytes.set(d, await this.disks.bytes(d));
    const runClosures = await this.closures([...runs]);
    const bytesLeft = (): number => {
      const kept = images.filter((img) => !removed.has(img));
      const blobs = new Set([...kept.flatMap((img) => img.blobs), ...pinned, ...runClosures]);
      const disks = new Set([...kept.map((img) => img.manifestDigest), ...pinned, ...runs]);
      let n = 0;
      for (const d of blobs) n += blobBytes.get(d) ?? 0;
      for (const d of disks) n += diskBytes.get(d) ?? 0;
      return n;
    };
    for (const img of unused.filter((i) => !removed.has(i)).reverse()) {
      if (bytesLeft() <= maxBytes) return;
      removed.add(img);
    }
    const left = bytesLeft();
    if (left > maxBytes) this.log.warn({ bytes: left, maxBytes }, `images take ${left} bytes, over images.maxBytes (${maxBytes}), and every image left is in use or being pulled`);
  }

  /** The images the refs index names, with the blobs each needs. */
  private async images(): Promise<Image[]> {
    const byDigest = new Map<string, Image>();
    for (const [ref, e] of this.refs.all()) {
      let img = byDigest.get(e.manifestDigest);
      if (!img) byDigest.set(e.manifestDigest, (img = { manifestDigest: e.manifestDigest, refs: [], indexDigests: [], blobs: [], lastUse: '' }));
      img.refs.push(ref);
      if (e.indexDigest && !img.indexDigests.includes(e.indexDigest)) img.indexDigests.push(e.indexDigest);
      for (const t of [e.pulledAt, e.usedAt ?? '']) if (t > img.lastUse) img.lastUse = t;
    }
    for (const img of byDigest.values()) img.blobs = [...img.indexDigests, ...(await this.closures([img.manifestDigest]))];
    return [...byDigest.values()];
  }

  /** Manifests with their config and layers (a manifest that is missing or unreadable: just its digest). */
  private async closures(manifests: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const m of manifests) {
      out.push(m);
      const bytes = await this.blobs.readBytes(m).catch(() => undefined);
      if (!bytes) continue;
      try {
        const doc = parseManifest(bytes, undefined, m);
        if (doc.kind === 'manifest') out.push(doc.config.digest, ...doc.layers.map((l) => l.digest));
      } catch {
        /* an unreadable manifest keeps nothing else alive */
      }
    }
    return out;
  }
}
