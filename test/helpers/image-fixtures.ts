/**
 * The test image: three layers (gzip, zstd, uncompressed without an end marker) exercising a whiteout, an
 * opaque directory, a hard link, setuid/setgid/sticky modes, owners, symlinks (one a parent on the way),
 * a device node, a FIFO and a pax long name; and the tree the root filesystem must hold afterwards.
 */
import type { LayerSpec } from './registry-push.ts';
import type { TreeNode } from './disk-tree.ts';

const LONG = `deep/${'a'.repeat(60)}/${'b'.repeat(60)}/long-name.txt`;

export const FIXTURE_LAYERS: LayerSpec[] = [
  {
    compression: 'gzip',
    entries: [
      { path: 'etc', type: 'dir' },
      { path: 'etc/hostname', content: 'base\n' },
      { path: 'etc/gone', content: 'bye\n' },
      { path: 'bin', type: 'dir' },
      { path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
      { path: 'bin/su', content: 'su', mode: 0o4755 },
      { path: 'data', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
      { path: 'data/old1', content: 'old1' },
      { path: 'data/sub', type: 'dir' },
      { path: 'data/sub/deep', content: 'deep' },
      { path: 'usr/lib', type: 'dir' },
      { path: 'usr/lib/libx.so', content: 'libx' },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { path: 'dev', type: 'dir' },
      { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { path: LONG, content: 'long' },
    ],
  },
  {
    compression: 'zstd',
    entries: [
      { path: 'etc/.wh.gone' },
      { path: 'etc/hostname', content: 'layer2\n' },
      { path: 'data', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
      { path: 'data/.wh..wh..opq' },
      { path: 'data/new', content: 'new', uid: 1000, gid: 1000, mode: 0o640 },
      { path: 'bin/tool-link', type: 'hardlink', linkname: 'bin/tool' },
      { path: 'hostname-link', type: 'symlink', linkname: '/etc/hostname' },
      { path: 'lib/extra.so', content: 'extra' },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
    ],
  },
  {
    compression: 'none',
    endMarker: false,
    entries: [
      { path: 'home/app', type: 'dir', mode: 0o700, uid: 1000, gid: 1000 },
      { path: 'home/app/.profile', content: 'export A=1\n', mode: 0o600, uid: 1000, gid: 1000 },
      { path: 'bin/sg', content: 'sg', mode: 0o2755, gid: 50 },
      { path: 'tmp', type: 'dir', mode: 0o1777 },
    ],
  },
];

type Expect = Omit<TreeNode, 'ino'> & { hardlinkOf?: string };
const d = (mode = 0o755, uid = 0, gid = 0): Expect => ({ type: 'dir', mode, uid, gid });
const f = (content: string, mode = 0o644, uid = 0, gid = 0): Expect => ({ type: 'file', mode, uid, gid, content });

/** What the root filesystem must hold, exactly. */
export const FIXTURE_TREE: Record<string, Expect> = {
  '/': d(),
  '/etc': d(),
  '/etc/hostname': f('layer2\n'),
  '/bin': d(),
  '/bin/tool': f('#!/bin/sh\necho tool\n', 0o755),
  '/bin/tool-link': { ...f('#!/bin/sh\necho tool\n', 0o755), hardlinkOf: '/bin/tool' },
  '/bin/su': f('su', 0o4755),
  '/bin/sg': f('sg', 0o2755, 0, 50),
  '/data': d(0o750, 1000, 1000),
  '/data/new': f('new', 0o640, 1000, 1000),
  '/usr': d(),
  '/usr/lib': d(),
  '/usr/lib/libx.so': f('libx'),
  '/usr/lib/extra.so': f('extra'),
  '/lib': { type: 'symlink', mode: 0o777, uid: 0, gid: 0, link: 'usr/lib' },
  '/hostname-link': { type: 'symlink', mode: 0o777, uid: 0, gid: 0, link: '/etc/hostname' },
  '/dev': d(),
  '/dev/null': { type: 'char', mode: 0o666, uid: 0, gid: 0, rdev: '1,3' },
  '/run': d(),
  '/run/fifo': { type: 'fifo', mode: 0o600, uid: 0, gid: 0 },
  '/deep': d(),
  [`/deep/${'a'.repeat(60)}`]: d(),
  [`/deep/${'a'.repeat(60)}/${'b'.repeat(60)}`]: d(),
  [`/${LONG}`]: f('long'),
  '/home': d(),
  '/home/app': d(0o700, 1000, 1000),
  '/home/app/.profile': f('export A=1\n', 0o600, 1000, 1000),
  '/tmp': d(0o1777),
};

/** Differences between a tree read back and FIXTURE_TREE, as readable lines (empty = identical). */
export function diffTree(actual: Map<string, TreeNode>): string[] {
  const problems: string[] = [];
  for (const [p, want] of Object.entries(FIXTURE_TREE)) {
    const got = actual.get(p);
    if (!got) {
      problems.push(`missing ${p}`);
      continue;
    }
    const { hardlinkOf, ...fields } = want;
    for (const [k, v] of Object.entries(fields)) {
      const g = (got as unknown as Record<string, unknown>)[k];
      if (g !== v) problems.push(`${p}: ${k} is ${typeof g === 'number' ? g.toString(8) : JSON.stringify(g)}, want ${typeof v === 'number' ? v.toString(8) : JSON.stringify(v)}`);
    }
    if (hardlinkOf && actual.get(hardlinkOf)?.ino !== got.ino) problems.push(`${p} is not a hard link of ${hardlinkOf}`);
  }
  for (const p of actual.keys()) if (!(p in FIXTURE_TREE)) problems.push(`unexpected ${p}`);
  return problems;
}
