/**
 * Reads back what a built image disk holds, without mounting: types, full modes (setuid included), owners,
 * link targets, contents and hard-link identity. ext4 via debugfs (rdump + stat), EROFS via fsck.erofs
 * --extract + dump.erofs and the raw inode (extractors drop setuid bits and hard links, so modes and inode
 * identity are read from the image itself).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool } from '../../src/tools/run.ts';

export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  content?: string;
  link?: string;
  /** Inode identity (same value = hard links to one file). */
  ino: string;
  rdev?: string;
}

export function readDirTree(root: string): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>();
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : path.join(root, rel);
    const st = fs.lstatSync(abs);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'file';
    out.set(rel === '' ? '/' : `/${rel}`, {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      ino: String(st.ino),
      ...(type === 'file' ? { content: fs.readFileSync(abs, 'utf8') } : {}),
      ...(type === 'symlink' ? { link: fs.readlinkSync(abs) } : {}),
      ...(type === 'char' || type === 'block' ? { rdev: `${Math.floor(st.rdev / 256)},${st.rdev % 256}` } : {}),
    });
    if (type === 'dir') for (const n of fs.readdirSync(abs)) walk(rel === '' ? n : `${rel}/${n}`);
  };
  walk('');
  return out;
}

export async function readDiskTree(disk: string, fsType: 'ext4' | 'erofs'): Promise<Map<string, TreeNode>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-disktree-'));
  try {
    const x = path.join(tmp, 'x');
    if (fsType === 'ext4') {
      fs.mkdirSync(x);
      await runTool('debugfs', ['-R', `rdump / ${x}`, disk]);
      // rdump puts the root's children into x/ directly
      const tree = readDirTree(x);
      tree.delete('/lost+found');
      // rdump skips device nodes and FIFOs: find them with `ls -p` in every directory
      const dirs = [...tree].filter(([, n]) => n.type === 'dir').map(([p]) => p);
      fs.writeFileSync(path.join(tmp, 'ls'), dirs.map((d) => `ls -p "${d}"`).join('\n'));
      const ls = (await runTool('debugfs', ['-f', path.join(tmp, 'ls'), disk])).stdout.split(/^debugfs: ls -p /m).slice(1);
      for (const [i, chunk] of ls.entries()) {
        for (const m of chunk.matchAll(/^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/([^/]*)\//gm)) {
          const fmt = parseInt(m[2]!, 8) & 0o170000;
          const type = fmt === 0o020000 ? 'char' : fmt === 0o060000 ? 'block' : fmt === 0o010000 ? 'fifo' : undefined;
          if (type) tree.set(`${dirs[i] === '/' ? '' : dirs[i]}/${m[5]}`, { type, mode: 0, uid: 0, gid: 0, ino: m[1]! });
        }
      }
      const paths = [...tree.keys()];
      fs.writeFileSync(path.join(tmp, 'cmds'), paths.map((p) => `stat "${p}"`).join('\n'));
      const { stdout } = await runTool('debugfs', ['-f', path.join(tmp, 'cmds'), disk]);
      const blocks = stdout.split(/^debugfs: stat /m).slice(1);
      for (const [i, b] of blocks.entries()) {
        const m = /Inode: (\d+)\s+Type: [\w ]+?\s+Mode:\s+(\d+)/.exec(b);
        const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(b);
        const n = tree.get(paths[i]!)!;
        n.mode = parseInt(m![2]!, 8);
        n.ino = m![1]!;
        n.uid = Number(u![1]);
        n.gid = Number(u![2]);
        const dev = /Device major\/minor number: (\d+):(\d+)/.exec(b);
        if (dev) n.rdev = `${Number(dev[1])},${Number(dev[2])}`;
      }
      return tree;
    }
    await runTool('fsck.erofs', [`--extract=${x}`, '--preserve', disk]);
    const tree = readDirTree(x);
    const img = fs.readFileSync(disk);
    const metaBlk = img.readUInt32LE(1024 + 40);
    const blkBits = img[1024 + 12]!;
    for (const [p, n] of tree) {
      const { stdout } = await runTool('dump.erofs', [`--path=${p}`, disk]);
      const nid = Number(/NID: (\d+)/.exec(stdout)![1]);
      const off = metaBlk * 2 ** blkBits + nid * 32;
      n.mode = img.readUInt16LE(off + 4) & 0o7777;
      n.ino = String(nid);
    }
    return tree;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
