/**
 * The image disks: one directory per manifest digest under `disks/`, holding the disk (`disk.ext4` or
 * `disk.erofs`) and `image.json` (the ImageConfig and what the disk was built from). A disk is built from
 * the layers in a private work tree, synced, and renamed into place whole, so a directory there is complete;
 * one a crash left torn is rebuilt. Removal renames the directory out to `tmp/` first, so `disks/` never
 * holds a half-deleted one either.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { HearthError } from '../errors.ts';
import { zstdDecompressToFile } from '../tools/zstd.ts';
import type { BlobStore } from './blob-store.ts';
import { buildDisk, type FsType } from './disk.ts';
import { parseImageConfig, type ImageConfig } from './image-config.ts';
import { RootfsBuilder } from './layer-apply.ts';
import type { ImageManifest } from './manifest.ts';

/** What `image.json` beside each disk holds. */
interface DiskRecord {
  manifestDigest: string;
  configDigest: string;
  fsType: FsType;
  disk: string;
  builtAt: string;
  config: ImageConfig;
}

export interface BuiltDisk {
  manifestDigest: string;
  diskPath: string;
  fsType: FsType;
  config: ImageConfig;
}

export interface DiskShelfOptions {
  blobs: BlobStore;
  disksDir: string;
  /** Where finished disks are assembled before they are renamed into `disksDir` (same filesystem). */
  tmpDir: string;
  /** Where layers are unpacked; may be a shared tmpfs. */
  scratchDir: string;
  fsType: FsType;
}

export class DiskShelf {
  private readonly blobs: BlobStore;
  private readonly disksDir: string;
  private readonly tmpDir: string;
  private readonly scratchDir: string;
  private readonly fsType: FsType;

  constructor(options: DiskShelfOptions) {
    ({ blobs: this.blobs, disksDir: this.disksDir, tmpDir: this.tmpDir, scratchDir: this.scratchDir, fsType: this.fsType } = options);
  }

  async open(): Promise<void> {
    await fsp.mkdir(this.disksDir, { recursive: true });
  }

  /** The disk built for a manifest digest, if a complete one is here. */
  async read(manifestDigest: string): Promise<BuiltDisk | undefined> {
    const dir = path.join(this.disksDir, manifestDigest.slice(7));
    let rec: Partial<DiskRecord> | null;
    try {
      rec = JSON.parse(await fsp.readFile(path.join(dir, 'image.json'), 'utf8')) as Partial<DiskRecord> | null;
    } catch {
      return undefined;
    }
    // a record that lacks what it must say is as good as none (a crash can leave it empty or torn)
    if (typeof rec !== 'object' || rec === null || typeof rec.disk !== 'string' || (rec.fsType !== 'ext4' && rec.fsType !== 'erofs')) return undefined;
    if (typeof rec.config !== 'object' || rec.config === null) return undefined;
    const diskPath = path.join(dir, rec.disk);
    if (!(await exists(diskPath))) return undefined;
    return { manifestDigest, diskPath, fsType: rec.fsType, config: rec.config };
  }

  /** Manifest digests that have a directory here, complete or not. */
  async list(): Promise<string[]> {
    return (await fsp.readdir(this.disksDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Bytes allocated to a digest's directory (0 if there is none). */
  async bytes(manifestDigest: string): Promise<number> {
    const dir = path.join(this.disksDir, manifestDigest.slice(7));
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return 0;
    }
    let n = 0;
    for (const f of names) n += ((await fsp.lstat(path.join(dir, f)).catch(() => undefined))?.blocks ?? 0) * 512;
    return n;
  }

  /**
   * Removes a digest's directory; returns the bytes freed. Renamed into `tmp/` first (one atomic step, so a
   * crash leaves the directory either whole in `disks/` or in `tmp/`, which is emptied at the next start).
   */
  async remove(manifestDigest: string): Promise<number> {
    const bytes = await this.bytes(manifestDigest);
    const trash = path.join(this.tmpDir, `trash-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.rename(path.join(this.disksDir, manifestDigest.slice(7)), trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    await fsp.rm(trash, { recursive: true, force: true });
    return bytes;
  }

  /** Applies the manifest's layers in order into a private work tree and builds its disk. */
  async build(manifestDigest: string, man: ImageManifest, ref: string): Promise<BuiltDisk> {
    const configDigest = man.config.digest;
    const config = parseImageConfig(await this.blobs.readBytes(configDigest));
    const id = randomBytes(6).toString('hex');
    // the tree holds the image's setuid programs and device nodes, and the scratch directory may be shared
    // (/dev/shm): only root may enter the work directory, so nothing under it is reachable by anyone else
    const work = await fsp.mkdtemp(path.join(this.scratchDir, 'hearth-build-'));
    await fsp.chmod(work, 0o700);
    const out = path.join(this.tmpDir, `disk-${id}`);
    try {
      const builder = new RootfsBuilder(path.join(work, 'rootfs'));
      for (const [i, layer] of man.layers.entries()) {
        const want = config.diffIds[i];
        await this.applyLayer(builder, layer.digest, path.join(work, `layer-${i}.tar`), want, ref);
      }
      builder.finish();
      await fsp.mkdir(out);
      const diskName = `disk.${this.fsType}`;
      await buildDisk(path.join(out, diskName), builder.root, builder.stats, this.fsType);
      const record: DiskRecord = { manifestDigest, configDigest, fsType: this.fsType, disk: diskName, builtAt: new Date().toISOString(), config };
      const fh = await fsp.open(path.join(out, 'image.json'), 'w', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rm(builder.root, { recursive: true, force: true });
      // on disk before the rename publishes it: a crash must not leave a complete-looking directory torn
      await fsyncPath(path.join(out, diskName));
      await fsyncPath(out);
      await this.publish(out, manifestDigest);
      const done = await this.read(manifestDigest);
      if (!done) throw new HearthError('Internal', 'HEARTH_ERR_IMAGE_BUILD_FAILED', `disk for ${manifestDigest} vanished after it was built`);
      return done;
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
      await fsp.rm(out, { recursive: true, force: true });
    }
  }

  /**
   * Rename a finished disk directory into disks/. One already there that reads back complete came from
   * another process that finished first, and is as good as ours; one that does not is what a crash left
   * (before disks were synced), and is replaced.
   */
  private async publish(out: string, manifestDigest: string): Promise<void> {
    const dest = path.join(this.disksDir, manifestDigest.slice(7));
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.rename(out, dest);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        if (await this.read(manifestDigest)) return;
        if (attempt >= 2) throw e;
        await fsp.rm(dest, { recursive: true, force: true });
      }
    }
    await fsyncPath(this.disksDir);
  }

  /** Decompress (gzip via zlib, zstd via the zstd binary, or none), check the diff ID, apply. */
  private async applyLayer(b: RootfsBuilder, digest: string, scratch: string, diffId: string | undefined, ref: string): Promise<void> {
    const blob = this.blobs.path(digest);
    const magic = Buffer.alloc(4);
    const fh = await fsp.open(blob, 'r');
    const { bytesRead: got } = await fh.read(magic, 0, 4, 0).finally(() => fh.close());
    let src: AsyncIterable<Buffer>;
    let cleanup = async (): Promise<void> => {};
    if (got >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
      src = fs.createReadStream(blob, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 256 * 1024 }));
    } else if (got === 4 && magic.readUInt32LE(0) === 0xfd2fb528) {
      await zstdDecompressToFile(blob, scratch);
      src = fs.createReadStream(scratch, { highWaterMark: 1 << 20 });
      cleanup = () => fsp.rm(scratch, { force: true });
    } else {
      src = fs.createReadStream(blob, { highWaterMark: 1 << 20 });
    }
    const hash = createHash('sha256');
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const c of src) {
        hash.update(c as Buffer);
        yield c as Buffer;
      }
    }
    try {
      const stream = hashed();
      await b.applyLayer(stream);
      for await (const _ of stream) void _; // the diff ID covers what trails the end-of-archive marker too
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' || (e as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
        throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_LAYER_INVALID', `layer ${digest} of ${ref} is not valid gzip: ${(e as Error).message}`, {
          cause: e,
        });
      }
      throw e;
    } finally {
      await cleanup();
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (diffId !== undefined && actual !== diffId) {
      throw new HearthError(
        'InvalidArgument',
        'HEARTH_ERR_IMAGE_LAYER_INVALID',
        `layer ${digest} of ${ref} uncompresses to ${actual}, but the image config says ${diffId}`,
      );
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/** fsync a file or a directory (its entries) by path. */
async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
