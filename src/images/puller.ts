/**
 * The puller: from a reference to a bootable disk. It resolves the reference (from the refs index and the
 * blobs already here, or from the registry), downloads what is missing with digest checks, records the
 * reference, and has the disk shelf build the disk once per manifest digest. It reports progress, sampled
 * (progress.ts), and pins every digest it is using until it is done (holds.ts), so the collector never takes
 * a blob or a disk from under it.
 *
 * Sharing: concurrent callers for one reference share one flight (and all receive its progress), concurrent
 * downloads of a blob share one download, concurrent builds of a manifest share one build.
 * @module
 */
import { HearthError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import type { FsType } from './disk.ts';
import type { BuiltDisk, DiskShelf } from './disk-shelf.ts';
import type { Holds, Pins } from './holds.ts';
import { parseImageConfig, type ImageConfig } from './image-config.ts';
import { formatPlatform, parseManifest, selectPlatform, type Descriptor, type ImageManifest, type Platform } from './manifest.ts';
import { sampled, type PullProgress } from './progress.ts';
import { formatReference, isDigest, parseReference, type ImageReference } from './reference.ts';
import type { RefEntry, RefsIndex } from './refs-index.ts';
import { createHash } from 'node:crypto';
import type { Credentials } from './auth.ts';
import type { RegistryClient } from './registry-client.ts';

export interface Rootfs {
  /** The canonical reference (`docker.io/library/nginx:alpine`). */
  ref: string;
  manifestDigest: string;
  diskPath: string;
  fsType: FsType;
  config: ImageConfig;
}

export interface EnsureOptions {
  onProgress?: (p: PullProgress) => void;
  /** A container id: the image it resolves to is kept for that container (see Holds.runs). */
  user?: string;
  /**
   * The manifest digest `ref` resolved to before (a container's image): that image is resolved, from here
   * or from `ref`'s repository by digest, whatever `ref`'s tag names now.
   */
  digest?: string;
  /** Ask the registry even if the reference is here (a tag may have moved), as `docker pull` does. */
  refresh?: boolean;
  /** The request's credentials for the image's registry (else the auth file's). */
  credentials?: Credentials;
}

export interface PullerParts {
  blobs: BlobStore;
  refs: RefsIndex;
  disks: DiskShelf;
  client: RegistryClient;
  holds: Holds;
  platform: Platform;
  concurrentDownloads: number;
  /** Told of every pull from a registry when it ends: how long it took and whether it succeeded. */
  onPulled?: (t: PullTiming) => void;
}

/** A pull from the registry: from asking for the manifest until every blob is here (the disk is not counted). */
export interface PullTiming {
  seconds: number;
  ok: boolean;
}

/** The largest image config Hearth downloads (configs are read whole into memory). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

class Flight {
  readonly listeners = new Set<(p: PullProgress) => void>();
  readonly users = new Set<string>();
  /** What it has emitted so far, replayed to a caller that joins late, so every caller hears it all in order. */
  private readonly history: PullProgress[] = [];
  promise!: Promise<Rootfs>;
  listen(l: (p: PullProgress) => void): void {
    for (const p of this.history) {
      try {
        l(p);
      } catch {
        /* a listener's failure is its own */
      }
    }
    this.listeners.add(l);
  }
  emit = (p: PullProgress): void => {
    this.history.push(p);
    for (const l of this.listeners) {
      try {
        l(p);
      } catch {
        /* a listener's failure is its own */
      }
    }
  };
}

export class Puller {
  private readonly flights = new Map<string, Flight>();
  private readonly downloads = new Map<string, Promise<void>>();
  private readonly builds = new Map<string, Promise<BuiltDisk>>();
  /** Users released while flights were under way (see `release`). */
  private readonly released = new Set<string>();

  constructor(private readonly p: PullerParts) {}

  /** A bootable read-only disk for `ref`, pulled if it is not here (or if `refresh`), built once. */
  async ensure(ref: string, opts: EnsureOptions = {}): Promise<Rootfs> {
    const r = pinned(parseReference(ref), opts.digest);
    const key = formatReference(r);
    // A pull with a client's own credentials flies alone: it must not succeed or fail by another's.
    const who = opts.credentials ? ` as ${createHash('sha256').update(`${opts.credentials.username}\0${opts.credentials.password}`).digest('hex').slice(0, 16)}` : '';
    const flightKey = `${opts.refresh ? 'refresh ' : ''}${key}${who}`;
    const joined = this.flights.get(flightKey);
    const flight = joined ?? new Flight();
    // listen before the flight starts: a pull emits `resolving` before its first await
    if (opts.onProgress) flight.listen(opts.onProgress);
    if (opts.user && !this.released.has(opts.user)) flight.users.add(opts.user);
    if (!joined) {
      this.flights.set(flightKey, flight);
      flight.promise = this.fly(r, key, flight, () => this.land(flightKey, flight), opts.refresh === true, opts.credentials)
        .catch((e: unknown) => {
          throw namingImage(e, ref, r.repository);
        })
        .finally(() => this.land(flightKey, flight));
    }
    try {
      return await flight.promise;
    } finally {
      if (opts.onProgress) flight.listeners.delete(opts.onProgress);
    }
  }

  /** Downloads `ref` (always asking the registry) without building its disk; returns the manifest digest. */
  async fetch(ref: string, onProgress: (p: PullProgress) => void = () => {}, creds?: Credentials): Promise<string> {
    const pins = this.p.holds.pins();
    try {
      return (await this.pullResolved(parseReference(ref), sampled(onProgress), pins, creds)).manifestDigest;
    } finally {
      pins.release();
    }
  }

  /**
   * The container `user` is deleted: no flight under way records the image for it when it lands (its
   * caller may have stopped waiting, but the flight goes on). Remembered until no flight is under way, for
   * a caller that was about to join one.
   */
  release(user: string): void {
    for (const f of this.flights.values()) f.users.delete(user);
    if (this.flights.size > 0) this.released.add(user);
  }

  /** No one joins the flight from now on: a later caller starts its own. */
  private land(flightKey: string, f: Flight): void {
    if (this.flights.get(flightKey) === f) this.flights.delete(flightKey);
    if (this.flights.size === 0) this.released.clear();
  }

  private async fly(r: ImageReference, key: string, f: Flight, land: () => void, refresh: boolean, creds: Credentials | undefined): Promise<Rootfs> {
    // held from resolving until the disk is built, so the collector cannot take the layers in between
    const pins = this.p.holds.pins();
    const emit = sampled(f.emit);
    try {
      const local = refresh ? undefined : await this.resolveLocal(r, pins);
      const resolved = local ?? (await this.pullResolved(r, emit, pins, creds));
      const rootfs = await this.buildOnce(resolved.manifestDigest, key, emit);
      // Recorded while still pinned, so the image is never unheld between the pull and its users' runs, and
      // for every user: the flight takes no more once it has landed.
      land();
      for (const u of f.users) this.p.holds.runs.set(u, rootfs.manifestDigest);
      if (f.users.size > 0) this.p.refs.touch(key, new Date().toISOString());
      emit({ type: 'ready', ref: key, manifestDigest: rootfs.manifestDigest, diskPath: rootfs.diskPath });
      return rootfs;
    } finally {
      pins.release();
    }
  }

  /**
   * A reference resolved from local data only, if everything it needs is here; what it needs is pinned.
   * Under the collector's lock: a collection either finished before (and this sees what it left) or
   * starts after (and sees these pins).
   */
  private resolveLocal(r: ImageReference, pins: Pins): Promise<RefEntry | undefined> {
    const { blobs, refs } = this.p;
    const key = formatReference(r);
    return this.p.holds.exclusive(async () => {
      let entry = refs.get(key);
      if (!entry && r.digest && (await blobs.has(r.digest))) {
        const doc = parseManifest(await blobs.readBytes(r.digest), undefined, r.digest);
        entry =
          doc.kind === 'index'
            ? { manifestDigest: selectPlatform(doc, this.p.platform, r.digest).digest, indexDigest: r.digest, pulledAt: '' }
            : { manifestDigest: r.digest, pulledAt: '' };
      }
      if (!entry) return undefined;
      const man = await this.localManifest(entry.manifestDigest);
      if (!man) return undefined;
      const needed = [man.config.digest, ...man.layers.map((l) => l.digest)];
      if (!(await Promise.all(needed.map((d) => blobs.has(d)))).every(Boolean)) return undefined;
      pins.add(entry.manifestDigest, ...needed, ...(entry.indexDigest ? [entry.indexDigest] : []));
      if (!refs.get(key)) await refs.set(key, entry);
      return entry;
    });
  }

  /** Pulls manifest, config and layers; everything is pinned in `pins`, which the caller releases. */
  private async pullResolved(r: ImageReference, emit: (p: PullProgress) => void, pins: Pins, creds?: Credentials): Promise<RefEntry> {
    const started = performance.now();
    const report = (ok: boolean) => this.p.onPulled?.({ seconds: (performance.now() - started) / 1000, ok });
    try {
      const entry = await this.download(r, emit, pins, creds);
      report(true);
      return entry;
    } catch (e) {
      report(false);
      throw e;
    }
  }

  /** `creds`: the request's own for the image's registry (else the auth file's). */
  private async download(r: ImageReference, emit: (p: PullProgress) => void, pins: Pins, creds: Credentials | undefined): Promise<RefEntry> {
    const { client, blobs, holds } = this.p;
    const key = formatReference(r);
    emit({ type: 'resolving', ref: key });
    const top = await client.getManifest(r, r.digest ?? r.tag ?? 'latest', creds);
    const topDoc = parseManifest(top.bytes, top.contentType, `${key}`);
    let indexDigest: string | undefined;
    let manifest: ImageManifest;
    let manifestDigest: string;
    const toStore: [string, Buffer, string][] = [];
    if (topDoc.kind === 'index') {
      indexDigest = top.digest;
      const chosen = selectPlatform(topDoc, this.p.platform, key);
      const child = await client.getManifest(r, chosen.digest, creds);
      const childDoc = parseManifest(child.bytes, child.contentType, `${key} (${formatPlatform(this.p.platform)})`);
      if (childDoc.kind !== 'manifest') {
        throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_MANIFEST_INVALID', `${key}: index entry ${chosen.digest} is itself an index`);
      }
      manifest = childDoc;
      manifestDigest = child.digest;
      toStore.push([top.digest, top.bytes, `index of ${key}`], [child.digest, child.bytes, `manifest of ${key}`]);
    } else {
      manifest = topDoc;
      manifestDigest = top.digest;
      toStore.push([top.digest, top.bytes, `manifest of ${key}`]);
    }
    // the config is read whole into memory: refuse a huge one before downloading (or storing) anything
    if (manifest.config.size > MAX_CONFIG_BYTES) {
      throw new HearthError(
        'InvalidArgument',
        'HEARTH_ERR_IMAGE_MANIFEST_INVALID',
        `the config of ${key} is ${manifest.config.size} bytes, larger than the ${MAX_CONFIG_BYTES} Hearth accepts`,
      );
    }
    // Pinned before anything here is looked at: from now on the collector leaves these blobs alone, so a
    // blob found present below stays present.
    await holds.exclusive(() =>
      pins.add(...(indexDigest ? [indexDigest] : []), manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)),
    );
    for (const [digest, bytes, what] of toStore) await blobs.putBytes(digest, bytes, what);
    emit({ type: 'resolved', ref: key, manifestDigest, layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })) });

    await this.fetchBlob(r, manifest.config, `config of ${key}`, () => {}, creds);
    const config = parseImageConfig(await blobs.readBytes(manifest.config.digest));
    if (config.diffIds.length !== 0 && config.diffIds.length !== manifest.layers.length) {
      throw new HearthError(
        'InvalidArgument',
        'HEARTH_ERR_IMAGE_MANIFEST_INVALID',
        `${key}: the config lists ${config.diffIds.length} layers but the manifest ${manifest.layers.length}`,
      );
    }
    await this.fetchLayers(r, manifest.layers, key, emit, creds);
    const entry: RefEntry = { manifestDigest, ...(indexDigest ? { indexDigest } : {}), pulledAt: new Date().toISOString() };
    await this.p.refs.set(key, entry);
    return entry;
  }

  /** Downloads the missing layers, a few at a time. */
  private async fetchLayers(r: ImageReference, layers: Descriptor[], key: string, emit: (p: PullProgress) => void, creds: Credentials | undefined): Promise<void> {
    const queue = [...layers];
    const workers = Array.from({ length: Math.max(1, this.p.concurrentDownloads) }, async () => {
      for (let l = queue.shift(); l !== undefined; l = queue.shift()) {
        const layer = l;
        if (await this.p.blobs.has(layer.digest)) {
          emit({ type: 'layer', digest: layer.digest, size: layer.size, downloaded: layer.size, status: 'cached' });
          continue;
        }
        await this.fetchBlob(r, layer, `layer ${layer.digest} of ${key}`, (n) =>
          emit({ type: 'layer', digest: layer.digest, size: layer.size, downloaded: n, status: 'downloading' }),
          creds,
        );
        emit({ type: 'layer', digest: layer.digest, size: layer.size, downloaded: layer.size, status: 'verified' });
      }
    });
    const results = await Promise.allSettled(workers);
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) {
      queue.length = 0;
      throw failed.reason;
    }
  }

  /** Download one blob unless present; concurrent requests for one digest share the download. */
  private async fetchBlob(r: ImageReference, d: Descriptor, what: string, onBytes: (n: number) => void, creds?: Credentials): Promise<void> {
    if (await this.p.blobs.has(d.digest)) return;
    let p = this.downloads.get(d.digest);
    if (!p) {
      p = (async () => {
        const w = await this.p.blobs.writer(d.digest, d.size, what);
        try {
          await this.p.client.downloadBlob(r, d.digest, w, onBytes, creds);
          await w.commit();
        } catch (e) {
          await w.abort();
          throw e;
        }
      })().finally(() => this.downloads.delete(d.digest));
      this.downloads.set(d.digest, p);
    }
    await p;
  }

  /** One build per manifest digest at a time, whoever asks (the disk shelf does the building). */
  private async buildOnce(manifestDigest: string, ref: string, emit: (p: PullProgress) => void): Promise<Rootfs> {
    let p = this.builds.get(manifestDigest);
    if (!p) {
      const existing = await this.p.disks.read(manifestDigest);
      if (existing) return { ref, ...existing };
      // another caller may have started the build while this one looked
      p = this.builds.get(manifestDigest);
    }
    if (!p) {
      emit({ type: 'building', manifestDigest });
      p = this.build(manifestDigest, ref).finally(() => this.builds.delete(manifestDigest));
      this.builds.set(manifestDigest, p);
    }
    return { ...(await p), ref };
  }

  private async build(manifestDigest: string, ref: string): Promise<BuiltDisk> {
    const man = await this.localManifest(manifestDigest);
    if (!man) {
      throw new HearthError('Internal', 'HEARTH_ERR_IMAGE_STORE_CORRUPT', `the manifest ${manifestDigest} of ${ref} is not in the blob store`);
    }
    return this.p.disks.build(manifestDigest, man, ref);
  }

  private async localManifest(digest: string): Promise<ImageManifest | undefined> {
    if (!(await this.p.blobs.has(digest))) return undefined;
    const doc = parseManifest(await this.p.blobs.readBytes(digest), undefined, digest);
    return doc.kind === 'manifest' ? doc : undefined;
  }
}

/** `r` pinned at `digest`, when given: its tag, if any, no longer matters. */
function pinned(r: ImageReference, digest: string | undefined): ImageReference {
  if (digest === undefined) return r;
  if (!isDigest(digest)) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_REF_INVALID', `invalid image digest "${digest}" for ${formatReference(r)}`);
  }
  return { registry: r.registry, repository: r.repository, digest };
}

/** Every failure says which image it is about, whatever part of the pull it came from. */
function namingImage(e: unknown, ref: string, repository: string): unknown {
  if (!(e instanceof HearthError) || e.message.includes(repository)) return e;
  return new HearthError(e.kind, e.code, `image ${ref}: ${e.message}`, { cause: e, ...(e.field ? { field: e.field } : {}) });
}
