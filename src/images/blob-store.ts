/**
 * A content-addressed store of blobs (manifests, configs, layers), named by their sha256 digest.
 *
 * Roles, as in containerd's content store:
 *  - Provider: `has`, `path`, `readBytes` read committed blobs.
 *  - Ingester: `writer(digest, size)` opens a `BlobWriter` in `tmp/`; bytes are hashed as they are written,
 *    and `commit()` checks size and digest, fsyncs and renames into `blobs/sha256/<hex>`. Until then nothing
 *    under `blobs/` changes, so a crash mid-download leaves only a file in `tmp/`, which the image store
 *    empties when it opens.
 *  - Manager: `list`, `delete`.
 *
 * Lifecycle of one blob: writer -> write()... -> commit() (or abort()) -> readable by path().
 * @module
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { HearthError } from '../errors.ts';

export class DigestMismatchError extends HearthError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    what: string,
  ) {
    super(
      'Internal',
      'HEARTH_ERR_BLOB_DIGEST_MISMATCH',
      `${what} does not match its digest: expected ${expected}, got ${actual}; the registry or something between it and Hearth altered the data (nothing was stored)`,
    );
  }
}

export class BlobWriter {
  private hash: Hash = createHash('sha256');
  private fh: fsp.FileHandle | undefined;
  /** Bytes written since the last reset. */
  size = 0;
  constructor(
    readonly digest: string,
    readonly expectedSize: number | undefined,
    readonly tmpPath: string,
    private readonly finalPath: string,
    private readonly what: string,
  ) {}

  async open(): Promise<void> {
    this.fh = await fsp.open(this.tmpPath, 'w', 0o644);
  }

  /** Start again from zero (a retried download). */
  async reset(): Promise<void> {
    await this.fh!.truncate(0);
    this.hash = createHash('sha256');
    this.size = 0;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.byteLength;
    if (this.expectedSize !== undefined && this.size > this.expectedSize) {
      throw new HearthError(
        'Internal',
        'HEARTH_ERR_BLOB_DIGEST_MISMATCH',
        `${this.what} is larger than the ${this.expectedSize} bytes its descriptor declares; refusing it (nothing was stored)`,
      );
    }
    this.hash.update(chunk);
    let off = 0;
    while (off < chunk.byteLength) {
      const { bytesWritten } = await this.fh!.write(chunk, off, chunk.byteLength - off, this.size - chunk.byteLength + off);
      off += bytesWritten;
    }
  }

  /** Verify and publish the blob. On a mismatch the temporary file is removed and the error thrown. */
  async commit(): Promise<string> {
    const actual = `sha256:${this.hash.digest('hex')}`;
    try {
      if (actual !== this.digest) throw new DigestMismatchError(this.digest, actual, this.what);
      if (this.expectedSize !== undefined && this.size !== this.expectedSize) {
        throw new HearthError(
          'Internal',
          'HEARTH_ERR_BLOB_DIGEST_MISMATCH',
          `${this.what} is ${this.size} bytes but its descriptor declares ${this.expectedSize} (nothing was stored)`,
        );
      }
      await this.fh!.sync();
      await this.fh!.close();
      this.fh = undefined;
      await fsp.rename(this.tmpPath, this.finalPath);
      return this.finalPath;
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    await fsp.rm(this.tmpPath, { force: true });
  }
}

export class BlobStore {
  readonly blobDir: string;
  constructor(
    root: string,
    readonly tmpDir: string,
  ) {
    this.blobDir = path.join(root, 'sha256');
  }

  async open(): Promise<void> {
    await fsp.mkdir(this.blobDir, { recursive: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
  }

  path(digest: string): string {
    const [alg, hex] = digest.split(':');
    if (alg !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) {
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_REF_INVALID', `"${digest}" is not a sha256 digest`);
    }
    return path.join(this.blobDir, hex);
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  /** Bytes the blob takes, or undefined if it is not here. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await fsp.stat(this.path(digest))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  readBytes(digest: string): Promise<Buffer> {
    return fsp.readFile(this.path(digest));
  }

  async writer(digest: string, size: number | undefined, what: string): Promise<BlobWriter> {
    const w = new BlobWriter(digest, size, path.join(this.tmpDir, `blob-${randomBytes(6).toString('hex')}.part`), this.path(digest), what);
    await w.open();
    return w;
  }

  /** Store bytes already in memory (manifests, configs). */
  async putBytes(digest: string, bytes: Buffer, what: string): Promise<void> {
    if (await this.has(digest)) return;
    const w = await this.writer(digest, bytes.length, what);
    await w.write(bytes);
    await w.commit();
  }

  async list(): Promise<string[]> {
    return (await fsp.readdir(this.blobDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Remove a blob; returns the bytes freed. */
  async delete(digest: string): Promise<number> {
    const size = await this.size(digest);
    if (size === undefined) return 0;
    await fsp.rm(this.path(digest), { force: true });
    return size;
  }
}
