/**
 * Applies image layers (tar streams) to a directory, the way an overlay of the layers would look:
 * `.wh.<name>` removes a lower entry, `.wh..wh..opq` hides everything lower in its directory; hard links,
 * symlinks, device nodes, modes (setuid included), owners and mtimes are kept. Paths never leave the root:
 * `..` is refused and symlinks met on the way are resolved inside the root, as a chrooted extraction would.
 * Must run as root to keep owners and make device nodes.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HearthError } from '../errors.ts';
import { mknod } from '../tools/mknod.ts';
import { readTar, type TarEntry } from './tar.ts';

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';
const IS_ROOT = process.getuid?.() === 0;

/** Counts kept across layers, used to size the disk. */
export interface TreeStats {
  /** Inodes needed (files, links, directories). */
  files: number;
  /** Content rounded up to 4 KiB blocks (an overestimate when layers overwrite files). */
  bytes: number;
}

/** State of one extraction (all layers of an image). */
export class RootfsBuilder {
  readonly stats: TreeStats = { files: 0, bytes: 0 };
  /** Directory metadata is applied at the very end: creating children would change mtimes. */
  private readonly dirMeta = new Map<string, TarEntry>();
  /** Relative directory paths known to be real directories (no symlink on the way). */
  private realDirs = new Set<string>(['']);

  constructor(readonly root: string) {
    // private (with any parents made here) until finish() gives it the image's mode: the tree will hold
    // the image's setuid programs and device nodes
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** Apply one uncompressed layer. */
  async applyLayer(tar: AsyncIterable<Buffer>): Promise<void> {
    const createdHere = new Set<string>();
    await readTar(tar, async (e, body) => {
      const base = path.posix.basename(e.path);
      const dir = path.posix.dirname(e.path) === '.' ? '' : path.posix.dirname(e.path);
      if (base === OPAQUE) {
        const d = this.resolveDir(dir, true);
        if (d !== undefined) this.clearLower(d, dir, createdHere);
        return;
      }
      if (base.startsWith(WH)) {
        const name = base.slice(WH.length);
        // '' and '.' would remove the whiteout's own directory, '..' the one above it (the root's parent, even)
        if (name === '' || name === '.' || name === '..') {
          throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_LAYER_INVALID', `layer whiteout ${e.path} names no entry`);
        }
        const target = dir === '' ? name : `${dir}/${name}`;
        const d = this.resolveDir(dir, false);
        if (d !== undefined && !createdHere.has(target)) this.removeAll(path.join(d, name));
        return;
      }
      if (e.path === '') {
        this.dirMeta.set('', e);
        return;
      }
      const parent = this.resolveDir(dir, true)!;
      const abs = path.join(parent, base);
      createdHere.add(e.path);
      switch (e.type) {
        case 'dir': {
          const st = lstatOrUndefined(abs);
          if (st && !st.isDirectory()) this.removeAll(abs);
          if (!st || !st.isDirectory()) fs.mkdirSync(abs, { mode: 0o700 });
          this.dirMeta.set(path.relative(this.root, abs), e);
          return;
        }
        case 'file': {
          this.replace(abs);
          const fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
          try {
            for await (const chunk of body.chunks()) {
              let off = 0;
              while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
            }
            if (IS_ROOT) fs.fchownSync(fd, e.uid, e.gid);
            fs.fchmodSync(fd, e.mode); // after chown, which clears setuid
            fs.futimesSync(fd, e.mtime, e.mtime);
          } finally {
            fs.closeSync(fd);
          }
          this.stats.files++;
          this.stats.bytes += Math.ceil(e.size / 4096) * 4096;
          return;
        }
        case 'symlink': {
          this.replace(abs);
          fs.symlinkSync(e.linkname, abs);
          if (IS_ROOT) fs.lchownSync(abs, e.uid, e.gid);
          fs.lutimesSync(abs, e.mtime, e.mtime);
          this.stats.files++;
          if (e.linkname.length >= 60) this.stats.bytes += 4096; // shorter targets live in the inode
          return;
        }
        case 'hardlink': {
          const tdir = path.posix.dirname(e.linkname) === '.' ? '' : path.posix.dirname(e.linkname);
          const td = this.resolveDir(tdir, false);
          const target = td === undefined ? undefined : path.join(td, path.posix.basename(e.linkname));
          if (target === undefined || !lstatOrUndefined(target)) {
            throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_LAYER_INVALID', `layer hard link ${e.path} names ${e.linkname}, which does not exist`);
          }
          if (target === abs) return;
          this.replace(abs);
          fs.linkSync(target, abs);
          this.stats.files++;
          return;
        }
        case 'char':
        case 'block':
        case 'fifo': {
          this.replace(abs);
          await mknod(abs, e.type === 'char' ? 'c' : e.type === 'block' ? 'b' : 'p', e.mode, e.devmajor, e.devminor);
          if (IS_ROOT) fs.lchownSync(abs, e.uid, e.gid);
          fs.chmodSync(abs, e.mode);
          fs.utimesSync(abs, e.mtime, e.mtime);
          this.stats.files++;
          return;
        }
      }
    });
  }

  /** Set directory owners, modes and mtimes, deepest first. Call after the last layer. */
  finish(): void {
    const dirs = [...this.dirMeta.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [rel, e] of dirs) {
      const abs = rel === '' ? this.root : path.join(this.root, rel);
      const st = lstatOrUndefined(abs);
      if (!st?.isDirectory()) continue;
      if (IS_ROOT) fs.lchownSync(abs, e.uid, e.gid);
      fs.chmodSync(abs, e.mode);
      fs.utimesSync(abs, e.mtime, e.mtime);
    }
    if (!this.dirMeta.has('')) fs.chmodSync(this.root, 0o755);
    this.stats.files += this.dirMeta.size;
    this.stats.bytes += this.dirMeta.size * 4096;
  }

  /**
   * Resolve a relative directory path inside the root, following symlinks within the root.
   * With `create`, missing directories are made (0755, like Docker); otherwise undefined is returned.
   */
  private resolveDir(rel: string, create: boolean): string | undefined {
    if (this.realDirs.has(rel)) return rel === '' ? this.root : path.join(this.root, rel);
    let cur = ''; // resolved, relative to root
    const todo = rel.split('/').filter((c) => c !== '');
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === '.') continue;
      if (c === '..') {
        cur = path.posix.dirname(cur) === '.' ? '' : path.posix.dirname(cur);
        continue;
      }
      const next = cur === '' ? c : `${cur}/${c}`;
      const abs = path.join(this.root, next);
      const st = lstatOrUndefined(abs);
      if (st === undefined) {
        if (!create) return undefined;
        fs.mkdirSync(abs, { mode: 0o755 });
        cur = next;
      } else if (st.isSymbolicLink()) {
        if (++hops > 40) throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_LAYER_INVALID', `too many symlinks resolving ${rel}`);
        const t = fs.readlinkSync(abs);
        if (t.startsWith('/')) cur = '';
        todo.unshift(...t.split('/').filter((x) => x !== ''));
      } else if (st.isDirectory()) {
        cur = next;
      } else {
        if (!create) return undefined;
        fs.rmSync(abs, { force: true });
        fs.mkdirSync(abs, { mode: 0o755 });
        cur = next;
      }
    }
    if (cur === rel) this.realDirs.add(rel);
    return cur === '' ? this.root : path.join(this.root, cur);
  }

  /** Make way for a new non-directory entry at abs. */
  private replace(abs: string): void {
    const st = lstatOrUndefined(abs);
    if (!st) return;
    if (st.isDirectory()) this.removeAll(abs);
    else fs.unlinkSync(abs); // never write through: the old inode may be hard-linked elsewhere
  }

  private removeAll(abs: string): void {
    fs.rmSync(abs, { recursive: true, force: true });
    this.realDirs = new Set(['']);
    for (const k of this.dirMeta.keys()) {
      const a = k === '' ? this.root : path.join(this.root, k);
      if (a === abs || a.startsWith(`${abs}/`)) this.dirMeta.delete(k);
    }
  }

  /** Opaque directory: remove what lower layers put under dirAbs, keeping this layer's entries. */
  private clearLower(dirAbs: string, dirRel: string, createdHere: Set<string>): void {
    for (const name of fs.readdirSync(dirAbs)) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const abs = path.join(dirAbs, name);
      if (!createdHere.has(rel)) this.removeAll(abs);
      else if (lstatOrUndefined(abs)?.isDirectory()) this.clearLower(abs, rel, createdHere);
    }
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}
