/**
 * Root filesystem disks for VM tests, made from Debian's busybox-static and programs compiled with
 * musl-gcc, so that no test downloads anything. Built once per content into a cache under the OS tmpdir.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildReadonlyExt4 } from '../../src/tools/mkfs-ext4.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
const CACHE = path.join(os.tmpdir(), 'hearth-test-images');

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'app:x:1000:1000:App User:/home/app:/bin/sh',
  'svc:x:1500:1500::/srv:/bin/sh',
  '',
].join('\n');

export const GROUP = ['root:x:0:', 'app:x:1000:', 'svc:x:1500:', 'extra:x:2000:app,svc', 'audio:x:29:app', ''].join('\n');

async function cached(name: string, inputs: string[], build: (dir: string) => void): Promise<string> {
  const key = createHash('sha256').update(inputs.join('\0')).digest('hex').slice(0, 16);
  const disk = path.join(CACHE, `${name}-${key}.ext4`);
  if (existsSync(disk)) return disk;
  const tree = path.join(CACHE, `${name}-${key}-${process.pid}.tree`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  try {
    build(tree);
    const partial = `${disk}.${process.pid}.partial`;
    await buildReadonlyExt4(partial, tree, 64 * 2 ** 20, 4096);
    renameSync(partial, disk);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  return disk;
}

const BUSYBOX = '/bin/busybox';

function busyboxTree(tree: string): void {
  for (const dir of ['bin', 'etc', 'home/app', 'srv', 'root', 'tmp', 'proc', 'sys', 'dev', 'data']) {
    mkdirSync(path.join(tree, dir), { recursive: true });
  }
  chmodSync(path.join(tree, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, path.join(tree, 'bin/busybox'));
  chmodSync(path.join(tree, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list']).toString().split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', path.join(tree, 'bin', applet));
  writeFileSync(path.join(tree, 'etc/passwd'), PASSWD);
  writeFileSync(path.join(tree, 'etc/group'), GROUP);
  // Empty, as systemd-based images ship it: each container gets an id of its own.
  writeFileSync(path.join(tree, 'etc/machine-id'), '');
}

/** busybox with every applet linked, users `app` (1000) and `svc` (1500), groups including `extra` (2000), an empty /etc/machine-id. */
export function busyboxImage(): Promise<string> {
  return cached('busybox', [readFileSync(BUSYBOX).length.toString(), PASSWD, GROUP, 'v3'], busyboxTree);
}

/**
 * The busybox image with content where volumes go: `/srv/seed` (svc's directory, 0750, holding `hello`, a
 * 0600 file of svc's, a symlink and a subdirectory), for a volume's first use to copy.
 */
export function seededImage(): Promise<string> {
  return cached('seeded', [readFileSync(BUSYBOX).length.toString(), PASSWD, GROUP, 'v1'], (tree) => {
    busyboxTree(tree);
    const seed = path.join(tree, 'srv/seed');
    mkdirSync(path.join(seed, 'sub'), { recursive: true });
    writeFileSync(path.join(seed, 'hello'), 'seeded by the image\n');
    writeFileSync(path.join(seed, 'sub/deep'), 'deep\n');
    symlinkSync('hello', path.join(seed, 'link'));
    chmodSync(path.join(seed, 'hello'), 0o600);
    for (const p of ['', 'hello', 'sub', 'sub/deep']) chownSync(path.join(seed, p), 1500, 1500);
    chmodSync(seed, 0o750);
  });
}

/** One static binary and nothing else: no shell, no libc, no /etc. */
export async function staticOnlyImage(): Promise<string> {
  const source = path.join(FIXTURES, 'programs/static-hello.c');
  const text = readFileSync(source, 'utf8');
  return cached('static-only', [text], (tree) => {
    execFileSync('musl-gcc', ['-static', '-Os', '-o', path.join(tree, 'hello'), source]);
  });
}
