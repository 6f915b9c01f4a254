/**
 * A streaming tar reader: ustar, pax extended headers (`x` and global `g`: path, linkpath, size, uid, gid,
 * mtime, SCHILY.xattr.*), GNU long names (`L`, `K`) and base-256 numbers. Tolerates a missing end-of-archive
 * marker (umoci 0.4.7's `insert` writes such tars). Entries are handed to a callback with their body; whatever
 * the callback leaves unread is skipped.
 * @module
 */
import { HearthError } from '../errors.ts';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** Normalised, relative, without `./` or a trailing slash; `''` for the root itself. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (fractional with pax). */
  mtime: number;
  /** Target of a symlink, or (normalised like `path`) the earlier entry a hard link names. */
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Buffer>;
}

export interface TarBody {
  /** The body in chunks; may be called once. */
  chunks(): AsyncIterable<Buffer>;
}

function corrupt(why: string): HearthError {
  return new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_LAYER_INVALID', `layer is not a valid tar archive: ${why}`);
}

/** Pulls exact byte counts out of an async iterable of chunks. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private eof = false;
  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** Ensure at least n bytes are buffered; false at end of input. */
  async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.eof) {
      const r = await this.it.next();
      if (r.done) this.eof = true;
      else this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    }
    return this.buf.length >= n;
  }

  get buffered(): number {
    return this.buf.length;
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Yield exactly n bytes as chunks. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill(1))) throw corrupt('archive ends inside a file');
      const c = this.take(Math.min(left, this.buf.length));
      // a count that is not a whole number leaves a fraction no read can satisfy: fail rather than spin
      if (c.length === 0) throw corrupt(`entry size ${n} is not a whole number of bytes`);
      left -= c.length;
      yield c;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) void _;
  }
}

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
}

function num(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    // base-256 (GNU): big-endian two's complement with the top bit as a marker
    let v = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    if (!Number.isSafeInteger(v)) throw corrupt('number field too large');
    return v;
  }
  const s = cstr(f, 0, len).trim();
  if (s === '') return 0;
  const v = parseInt(s, 8);
  if (Number.isNaN(v)) throw corrupt(`bad number field "${s}"`);
  return v;
}

function checksumOk(h: Buffer): boolean {
  const want = num(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === want;
}

export function normalizeTarPath(p: string): string {
  const parts: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw corrupt(`entry "${p}" escapes the root`);
    parts.push(c);
  }
  return parts.join('/');
}

function parsePax(data: Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(data.subarray(off, sp).toString('ascii'), 10);
    if (!(len > 0)) throw corrupt('bad pax record length');
    const rec = data.subarray(sp + 1, off + len - 1); // drop trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out[rec.subarray(0, eq).toString('utf8')] = rec.subarray(eq + 1);
    off += len;
  }
  return out;
}

/**
 * A pax record that must be a non-negative whole number (size, uid, gid); undefined when absent or empty
 * (POSIX: an empty value reverts to the header's). Anything else is refused: a fractional size would leave
 * the reader unable to find the next header.
 */
function paxInt(ext: Record<string, Buffer>, key: string): number | undefined {
  const v = ext[key];
  if (v === undefined || v.length === 0) return undefined;
  const s = v.toString('utf8');
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw corrupt(`bad pax ${key} "${s.slice(0, 40)}"`);
  return n;
}

/** The pax mtime: decimal seconds, possibly negative or fractional. */
function paxTime(ext: Record<string, Buffer>, key: string): number | undefined {
  const v = ext[key];
  if (v === undefined || v.length === 0) return undefined;
  const s = v.toString('utf8');
  const n = /^-?[0-9]+(\.[0-9]+)?$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n)) throw corrupt(`bad pax ${key} "${s.slice(0, 40)}"`);
  return n;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** Read a tar stream, calling `onEntry` for each entry in order. */
export async function readTar(src: AsyncIterable<Buffer>, onEntry: (e: TarEntry, body: TarBody) => Promise<void>): Promise<void> {
  const r = new ByteReader(src);
  let global: Record<string, Buffer> = {};
  let pax: Record<string, Buffer> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (!(await r.fill(512))) {
      if (r.buffered === 0) return; // no end marker: tolerated
      throw corrupt('archive ends inside a header');
    }
    const h = Buffer.from(r.take(512));
    if (h.every((x) => x === 0)) return; // end of archive (the second zero block is not needed)
    if (!checksumOk(h)) throw corrupt('header checksum mismatch');
    const flag = String.fromCharCode(h[156]!);
    const magic = h.subarray(257, 263).toString('latin1');
    const extended = flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K';
    // a pax size describes the entry the records belong to, never the next extended header
    const size = (extended ? undefined : paxInt({ ...global, ...pax }, 'size')) ?? num(h, 124, 12);
    const padded = Math.ceil(size / 512) * 512;
    if (extended) {
      if (size > 16 * 1024 * 1024) throw corrupt('oversized extended header');
      if (!(await r.fill(padded))) throw corrupt('archive ends inside an extended header');
      const data = Buffer.from(r.take(padded).subarray(0, size));
      if (flag === 'x') pax = { ...pax, ...parsePax(data) };
      else if (flag === 'g') global = { ...global, ...parsePax(data) };
      else if (flag === 'L') longName = cstr(data, 0, data.length);
      else longLink = cstr(data, 0, data.length);
      continue;
    }
    const ext = { ...global, ...pax };
    let name = cstr(h, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cstr(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (ext.path) name = ext.path.toString('utf8');
    let linkname = cstr(h, 157, 100);
    if (longLink !== undefined) linkname = longLink;
    if (ext.linkpath) linkname = ext.linkpath.toString('utf8');
    if (ext['GNU.sparse.major'] || ext['GNU.sparse.name'] || flag === 'S') throw corrupt(`sparse file "${name}" is not supported`);
    let type = TYPES[flag];
    if (type === 'file' && flag !== '7' && name.endsWith('/')) type = 'dir';
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(ext)) {
      if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = v;
      else if (k.startsWith('LIBARCHIVE.xattr.')) xattrs[decodeURIComponent(k.slice(17))] = Buffer.from(v.toString(), 'base64');
    }
    pax = {};
    longName = undefined;
    longLink = undefined;
    const bodySize = type === 'file' ? size : 0;
    if (type !== undefined) {
      const entry: TarEntry = {
        path: normalizeTarPath(name),
        type,
        mode: num(h, 100, 8) & 0o7777,
        uid: paxInt(ext, 'uid') ?? num(h, 108, 8),
        gid: paxInt(ext, 'gid') ?? num(h, 116, 8),
        size: bodySize,
        mtime: paxTime(ext, 'mtime') ?? num(h, 136, 12),
        linkname: type === 'hardlink' ? normalizeTarPath(linkname) : linkname,
        devmajor: num(h, 329, 8),
        devminor: num(h, 337, 8),
        xattrs,
      };
      let consumed = false;
      await onEntry(entry, {
        chunks: () => {
          if (consumed) throw new Error('tar body read twice');
          consumed = true;
          return r.stream(bodySize);
        },
      });
      if (!consumed) await r.skip(bodySize);
      await r.skip(padded - bodySize);
    } else {
      await r.skip(padded); // unknown entry types (e.g. 'V' volume labels) are skipped
    }
  }
}
