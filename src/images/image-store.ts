/**
 * The image store, the one door to the images layer: it pulls images from registries into a
 * content-addressed blob store and turns each image, once, into a read-only disk that any number of
 * microVMs share. The containers layer calls `ensureRootfs` and `release`; the image API calls the rest.
 *
 * On disk, under `<dataDir>/images/`:
 *   blobs/sha256/<hex>   manifests, indexes, configs and layers, verified against their digests (blob-store.ts)
 *   disks/<hex>/         one per manifest digest: the disk and `image.json` (disk-shelf.ts)
 *   refs.json            canonical reference -> manifest digest, rewritten atomically (refs-index.ts)
 *   tmp/                 downloads, builds and removals in progress; emptied when the store opens
 *
 * Behind the door: the puller (resolution, downloads, progress, pins), the catalog (list, inspect, untag)
 * and the collector (what no container uses). Which containers exist comes from above, as a `Usage`
 * function (usage.ts): the images layer knows nothing of containers.
 * @module
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlobStore } from './blob-store.ts';
import { Catalog, type ImageDetails, type ImageSummary } from './catalog.ts';
import { Collector, type CollectPolicy, type CollectResult, type CollectorLog } from './collector.ts';
import type { FsType } from './disk.ts';
import { DiskShelf } from './disk-shelf.ts';
import { Holds } from './holds.ts';
import { hostPlatform, parsePlatform, type Platform } from './manifest.ts';
import type { PullProgress } from './progress.ts';
import type { Credentials } from './auth.ts';
import { Puller, type PullTiming, type Rootfs } from './puller.ts';
import { RefsIndex } from './refs-index.ts';
import { RegistryClient, type RegistryConfig } from './registry-client.ts';
import type { Usage } from './usage.ts';

export type { FsType } from './disk.ts';
export type { ImageConfig, Healthcheck } from './image-config.ts';
export type { ImageDetails, ImageSummary } from './catalog.ts';
export type { CollectResult } from './collector.ts';
export type { PullProgress } from './progress.ts';
export type { PullTiming, Rootfs } from './puller.ts';
export type { ImageUser, Usage } from './usage.ts';

export interface ImageStoreOptions extends RegistryConfig {
  /** Hearth's data directory; the store lives in `<dataDir>/images`. */
  dataDir: string;
  /** `linux/amd64` form; defaults to the host's (linux/amd64 on x86-64). */
  platform?: string | Platform;
  /**
   * Disk format for new images. Default EROFS: measured here it is built faster than ext4 and ~30% smaller
   * (no journal, inode tables or size estimate), and image disks are read-only anyway. The guest kernel
   * needs CONFIG_EROFS_FS; choose ext4 otherwise.
   */
  fsType?: FsType;
  /** Layers downloaded at once (default 3). */
  concurrentDownloads?: number;
  /**
   * Where root filesystems are extracted before the disk is made (default `<dataDir>/images/tmp`). A tmpfs
   * here (e.g. /dev/shm) avoids writing every file twice when memory allows; leftovers are removed on open.
   */
  scratchDir?: string;
  /** Every container that exists, to know which images are in use. Default: none. */
  usage?: Usage;
  /** Unused images a collection keeps, the most recently used or pulled (default: all of them). */
  keepUnused?: number;
  /** Unused images are collected, oldest first, while the store takes more bytes than this (default 0: no limit). */
  maxBytes?: number;
  /** After `start`, a collection runs this often and after every `release` (default: only when asked). */
  collectIntervalMs?: number;
  log?: CollectorLog & { error(fields: object, message: string): void };
}

export interface EnsureOptions {
  onProgress?: (p: PullProgress) => void;
  /** The container the disk is for: its image is kept for it even if its tag moves (until `release`). */
  user?: string;
  /**
   * The manifest digest `ref` resolved to before: that image, found here by digest or pulled from `ref`'s
   * repository by digest, whatever `ref`'s tag names now (a container's later starts).
   */
  digest?: string;
}

export interface PullOptions {
  onProgress?: (p: PullProgress) => void;
  /** Credentials for the image's registry from the request (a Docker client's X-Registry-Auth), over the auth file's. */
  credentials?: Credentials;
  /** Build the disk too, so the first container starts at once (default: download only). */
  build?: boolean;
}

export interface RemoveResult {
  /** The references forgotten. */
  refs: string[];
  manifestDigest: string;
  /** What was freed: the image's blobs and disk if nothing else names or uses them. */
  collected: CollectResult;
  /** No reference names the image any more (else only the references given were forgotten). */
  unnamed: boolean;
}

const SILENT = { info: () => {}, warn: () => {}, error: () => {} };

export class ImageStore {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly blobs: BlobStore;
  private readonly disks: DiskShelf;
  private readonly refs: RefsIndex;
  private readonly holds = new Holds();
  private readonly puller: Puller;
  private readonly catalog: Catalog;
  private readonly collector: Collector;
  private readonly usage: Usage;
  private readonly policy: CollectPolicy;
  private readonly log: NonNullable<ImageStoreOptions['log']>;
  private opened?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private collecting?: Promise<void>;
  private collectAgain = false;
  private closed = false;
  private readonly pullListeners = new Set<(t: PullTiming) => void>();

  private readonly client: RegistryClient;

  constructor(private readonly opts: ImageStoreOptions) {
    this.client = new RegistryClient(opts);
    this.root = path.join(opts.dataDir, 'images');
    this.tmpDir = path.join(this.root, 'tmp');
    this.blobs = new BlobStore(path.join(this.root, 'blobs'), this.tmpDir);
    this.refs = new RefsIndex(path.join(this.root, 'refs.json'), this.tmpDir);
    this.disks = new DiskShelf({
      blobs: this.blobs,
      disksDir: path.join(this.root, 'disks'),
      tmpDir: this.tmpDir,
      scratchDir: opts.scratchDir ?? this.tmpDir,
      fsType: opts.fsType ?? 'erofs',
    });
    this.puller = new Puller({
      blobs: this.blobs,
      refs: this.refs,
      disks: this.disks,
      client: this.client,
      holds: this.holds,
      platform: typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform()),
      concurrentDownloads: opts.concurrentDownloads ?? 3,
      onPulled: (t) => {
        for (const l of this.pullListeners) l(t);
      },
    });
    this.log = opts.log ?? SILENT;
    this.catalog = new Catalog(this.blobs, this.refs, this.disks, this.holds.runs);
    this.collector = new Collector(this.blobs, this.refs, this.disks, this.holds, this.log);
    this.usage = opts.usage ?? (async () => []);
    this.policy = { keepUnused: opts.keepUnused ?? Infinity, maxBytes: opts.maxBytes ?? 0 };
  }

  /**
   * The main door: a bootable read-only disk for `ref`, pulling the image if it is not here and building its
   * disk once. Concurrent callers for the same reference share the work and all receive progress.
   * @example const { diskPath, fsType, config } = await store.ensureRootfs('nginx:alpine')
   */
  async ensureRootfs(ref: string, opts: EnsureOptions = {}): Promise<Rootfs> {
    await this.open();
    return this.puller.ensure(ref, opts);
  }

  /** Calls `listener` when each pull from a registry ends (metrics); returns how to stop. */
  onPull(listener: (t: PullTiming) => void): () => void {
    this.pullListeners.add(listener);
    return () => this.pullListeners.delete(listener);
  }

  /** Pulls `ref` from its registry even if it is here (a tag may have moved); returns the manifest digest. */
  async pull(ref: string, opts: PullOptions = {}): Promise<string> {
    await this.open();
    if (opts.build) {
      const extra = { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.credentials ? { credentials: opts.credentials } : {}) };
      return (await this.puller.ensure(ref, { refresh: true, ...extra })).manifestDigest;
    }
    return this.puller.fetch(ref, opts.onProgress, opts.credentials);
  }

  /**
   * Checks credentials with a registry (`docker login`): FailedPrecondition `HEARTH_ERR_REGISTRY_UNAUTHORIZED`
   * when it refuses them. Nothing is stored: clients send them again with each pull.
   */
  checkLogin(registry: string, credentials: Credentials): Promise<void> {
    return this.client.checkLogin(registry, credentials);
  }

  /** Local images, one entry per manifest digest with all its references and the containers using it. */
  async list(): Promise<ImageSummary[]> {
    await this.open();
    return this.catalog.list(await this.usage());
  }

  /** A local image by reference or by digest (of its manifest or its index). */
  async inspect(ref: string): Promise<ImageDetails> {
    await this.open();
    return this.catalog.inspect(ref, await this.usage());
  }

  /**
   * Forgets a reference (or, given a digest, every reference to it) and frees the image's blobs and disk if
   * nothing else names or uses them. FailedPrecondition naming the containers that use it, unless `force`:
   * then a running container keeps its disk, and a stopped one pulls the image again when it starts.
   */
  async remove(ref: string, opts: { force?: boolean } = {}): Promise<RemoveResult> {
    await this.open();
    return this.holds.exclusive(async () => {
      const users = await this.usage();
      const { refs, manifestDigest } = await this.catalog.untag(ref, users, opts.force === true);
      const collected = await this.collector.collect(async () => users, { keepUnused: Infinity, maxBytes: 0 });
      return { refs, manifestDigest, collected, unnamed: this.refs.naming(manifestDigest).length === 0 };
    });
  }

  /**
   * Gives the image `source` names (a reference or a digest) another reference, `target`, as `docker tag`
   * does; a target naming another image moves. Under the collector's lock, so a collection never frees an
   * image while it gains a name.
   */
  async tag(source: string, target: string): Promise<{ ref: string; manifestDigest: string }> {
    await this.open();
    return this.holds.exclusive(() => this.catalog.tag(source, target));
  }

  /** One collection now, with the configured policy or these overrides. */
  async collect(overrides: Partial<CollectPolicy> = {}): Promise<CollectResult> {
    await this.open();
    return this.holds.exclusive(() => this.collector.collect(this.usage, { ...this.policy, ...overrides }));
  }

  /** Removes every image no container uses and no pull is using (as a collection keeping none). */
  prune(): Promise<CollectResult> {
    return this.collect({ keepUnused: 0 });
  }

  /** The container is deleted: the image it resolved is no longer kept for it, and may be collected. */
  release(user: string): void {
    this.puller.release(user);
    this.holds.runs.delete(user);
    if (this.timer) this.collectSoon();
  }

  /**
   * Collects once now (which also removes what a collection killed half-way left), then every
   * `collectIntervalMs` and after every `release`.
   */
  start(): void {
    if (!this.opts.collectIntervalMs || this.timer || this.closed) return;
    this.timer = setInterval(() => this.collectSoon(), this.opts.collectIntervalMs).unref();
    this.collectSoon();
  }

  /** Stops collecting and waits for a collection under way; pulls in flight are not waited for. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.collecting;
    if (this.opened) await this.refs.flush();
  }

  /** Runs a collection, or one more after the one under way; failures are logged. */
  private collectSoon(): void {
    if (this.closed) return;
    if (this.collecting) {
      this.collectAgain = true;
      return;
    }
    this.collecting = (async () => {
      do {
        this.collectAgain = false;
        try {
          await this.collect();
        } catch (e) {
          this.log.error({ err: e }, `image collection failed: ${(e as Error).message}`);
        }
      } while (this.collectAgain && !this.closed);
    })().finally(() => (this.collecting = undefined));
  }

  /** Opens once; a failed open is tried again by the next call, not kept for every call until restart. */
  private open(): Promise<void> {
    return (this.opened ??= this.openNow().catch((e: unknown) => {
      this.opened = undefined;
      throw e;
    }));
  }

  private async openNow(): Promise<void> {
    // leftovers of a crashed run (downloads, builds, removals) are never complete: drop them
    await fsp.rm(this.tmpDir, { recursive: true, force: true });
    const scratch = this.opts.scratchDir;
    if (scratch) {
      await fsp.mkdir(scratch, { recursive: true });
      for (const n of await fsp.readdir(scratch)) {
        if (n.startsWith('hearth-build-')) await fsp.rm(path.join(scratch, n), { recursive: true, force: true });
      }
    }
    await this.blobs.open();
    await this.disks.open();
    await this.refs.load();
  }
}
