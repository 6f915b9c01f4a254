/**
 * The catalog: what images are here and what they hold. `list` and `inspect` read the refs index, the
 * manifests and configs in the blob store and the disk shelf; `untag` forgets references, refusing (unless
 * forced) while a container uses them. Freeing the blobs and disk of an image nothing references any more is
 * the collector's job.
 * @module
 */
import { HearthError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import type { DiskShelf } from './disk-shelf.ts';
import type { FsType } from './disk.ts';
import { parseImageConfig, type ImageConfig } from './image-config.ts';
import { formatPlatform, parseManifest, type Descriptor } from './manifest.ts';
import { formatReference, isDigest, parseReference } from './reference.ts';
import type { RefsIndex } from './refs-index.ts';
import { usersNaming, usersOf, type ImageUser } from './usage.ts';

export interface ImageSummary {
  manifestDigest: string;
  /** Canonical references naming it, sorted. */
  refs: string[];
  /** The index the manifest was chosen from, for a multi-platform image. */
  indexDigest?: string;
  configDigest: string;
  /** Compressed size of the layers, as the manifest declares it. */
  size: number;
  /** Bytes it takes here: its blobs (manifest, config, layers, index) and its disk; shared blobs count for each image. */
  bytesOnDisk: number;
  created?: string;
  /** The latest pull of any of its references. */
  pulledAt?: string;
  platform: string;
  disk?: { path: string; fsType: FsType; bytes: number };
  /** Containers that use it (usage.ts). */
  users: ImageUser[];
}

export interface ImageDetails extends ImageSummary {
  mediaType: string;
  layers: Descriptor[];
  config: ImageConfig;
}

export class Catalog {
  constructor(
    private readonly blobs: BlobStore,
    private readonly refs: RefsIndex,
    private readonly disks: DiskShelf,
    private readonly runs: ReadonlyMap<string, string>,
  ) {}

  /** Local images, one entry per manifest digest with all its references. */
  async list(users: readonly ImageUser[]): Promise<ImageSummary[]> {
    const byDigest = new Map<string, string[]>();
    for (const [ref, e] of this.refs.all()) byDigest.set(e.manifestDigest, [...(byDigest.get(e.manifestDigest) ?? []), ref]);
    const out: ImageSummary[] = [];
    for (const [digest, names] of byDigest) {
      const d = await this.details(digest, names.sort(), users);
      if (d) out.push(summary(d));
    }
    return out.sort((a, b) => (a.refs[0] ?? '').localeCompare(b.refs[0] ?? ''));
  }

  /** Details of a local image, by reference or by digest (`sha256:...`, of its manifest or its index). */
  async inspect(ref: string, users: readonly ImageUser[]): Promise<ImageDetails> {
    const { digest, names } = this.lookup(ref);
    const d = await this.details(digest, names, users);
    if (!d) throw notLocal(ref);
    return d;
  }

  /**
   * Forgets a reference, or given a digest every reference to it. FailedPrecondition naming the containers
   * that use what would be forgotten, unless `force`. Returns the references forgotten and the digest.
   */
  async untag(ref: string, users: readonly ImageUser[], force: boolean): Promise<{ refs: string[]; manifestDigest: string }> {
    const { digest, names } = this.lookup(ref);
    if (names.length === 0) throw notLocal(ref);
    if (!force) {
      const all = this.refs.naming(digest);
      const lastRefs = names.length === all.length;
      // forgetting some of its names leaves the image; only containers naming those are in the way
      const using = lastRefs ? usersOf(this.identity(digest, all), users, this.runs) : usersNaming(this.identity(digest, names), users);
      if (using.length > 0) throw inUse(ref, using);
    }
    await this.refs.delete(names);
    return { refs: names, manifestDigest: digest };
  }

  /**
   * Makes `target` (a reference with a tag, not a digest) name the image `source` names, as `docker tag`:
   * a target that named another image moves (that image keeps its other names, or is left for the
   * collector). Returns the canonical target and the manifest digest.
   */
  async tag(source: string, target: string): Promise<{ ref: string; manifestDigest: string }> {
    const to = parseReference(target);
    if (to.digest !== undefined) {
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_REF_INVALID', `invalid tag "${target}": a tag names an image by a tag, not by a digest`, {
        field: 'tag',
      });
    }
    const { digest, names } = this.lookup(source);
    if (!(await this.details(digest, names, []))) throw notLocal(source);
    const from = names.map((n) => this.refs.get(n)).find((e) => e !== undefined);
    const ref = formatReference(to);
    await this.refs.set(ref, {
      manifestDigest: digest,
      ...(from?.indexDigest ? { indexDigest: from.indexDigest } : {}),
      pulledAt: from?.pulledAt || new Date().toISOString(),
    });
    return { ref, manifestDigest: digest };
  }

  private identity(digest: string, refs: string[]) {
    const indexDigests = [...new Set(refs.map((r) => this.refs.get(r)?.indexDigest).filter((d): d is string => d !== undefined))];
    return { manifestDigest: digest, indexDigests, refs };
  }

  private lookup(ref: string): { digest: string; names: string[] } {
    const t = ref.trim();
    if (isDigest(t)) {
      const names = this.refs.naming(t).sort();
      // named by its index digest, the image is the manifest its references chose
      const first = names[0] === undefined ? undefined : this.refs.get(names[0]);
      return { digest: first?.manifestDigest ?? t, names };
    }
    const key = formatReference(parseReference(t));
    const e = this.refs.get(key);
    if (!e) throw notLocal(ref);
    return { digest: e.manifestDigest, names: [key] };
  }

  private async details(digest: string, names: string[], users: readonly ImageUser[]): Promise<ImageDetails | undefined> {
    if (!(await this.blobs.has(digest))) return undefined;
    const doc = parseManifest(await this.blobs.readBytes(digest), undefined, digest);
    if (doc.kind !== 'manifest' || !(await this.blobs.has(doc.config.digest))) return undefined;
    const config = parseImageConfig(await this.blobs.readBytes(doc.config.digest));
    const all = this.refs.naming(digest).sort();
    const identity = this.identity(digest, all);
    const disk = await this.disks.read(digest);
    const diskBytes = disk ? await this.disks.bytes(digest) : 0;
    let blobBytes = 0;
    for (const d of [digest, ...identity.indexDigests, doc.config.digest, ...doc.layers.map((l) => l.digest)]) {
      blobBytes += (await this.blobs.size(d)) ?? 0;
    }
    const pulledAt = all.map((r) => this.refs.get(r)?.pulledAt ?? '').sort().at(-1);
    return {
      manifestDigest: digest,
      refs: names,
      ...(identity.indexDigests[0] ? { indexDigest: identity.indexDigests[0] } : {}),
      configDigest: doc.config.digest,
      size: doc.layers.reduce((n, l) => n + l.size, 0),
      bytesOnDisk: blobBytes + diskBytes,
      ...(config.created ? { created: config.created } : {}),
      ...(pulledAt ? { pulledAt } : {}),
      platform: formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }),
      ...(disk ? { disk: { path: disk.diskPath, fsType: disk.fsType, bytes: diskBytes } } : {}),
      users: usersOf(identity, users, this.runs),
      mediaType: doc.mediaType,
      layers: doc.layers,
      config,
    };
  }
}

function summary(d: ImageDetails): ImageSummary {
  const { mediaType: _m, layers: _l, config: _c, ...s } = d;
  return s;
}

export function notLocal(ref: string): HearthError {
  return new HearthError('NotFound', 'HEARTH_ERR_IMAGE_NOT_FOUND', `image ${ref} is not in the local store: pull it first`);
}

function inUse(ref: string, users: readonly ImageUser[]): HearthError {
  const names = users.map((u) => `${u.name} (${u.id})`).join(', ');
  const which = users.length === 1 ? 'container' : 'containers';
  return new HearthError(
    'FailedPrecondition',
    'HEARTH_ERR_IMAGE_IN_USE',
    `image ${ref} is used by ${which} ${names}: delete ${users.length === 1 ? 'it' : 'them'} first, or force the removal (?force=true), after which ${users.length === 1 ? 'it pulls' : 'they pull'} the image again when started`,
  );
}
