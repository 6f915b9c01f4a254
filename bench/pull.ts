/**
 * `npm run bench:pull`: generates an image (6 gzip layers, ~75 MB, ~18k small files), pushes it to a local
 * docker-registry, then times in one run:
 *   hearth     ImageStore.ensureRootfs: pull + verify + apply layers + build the disk (default fs type)
 *   hearth-*   the same with each disk format, for the ext4/EROFS choice
 *   cache hit  ensureRootfs again from a fresh ImageStore on the same data dir
 *   tools      skopeo copy (registry -> OCI layout) + umoci raw unpack + mkfs.ext4 -d
 * and prints `pull_vs_tools=<hearth seconds / tools seconds>` last (below 1 means Hearth is faster).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ext4Size, type FsType } from '../src/images/disk.ts';
import { ImageStore } from '../src/images/image-store.ts';
import { buildReadonlyExt4 } from '../src/tools/mkfs-ext4.ts';
import { runTool } from '../src/tools/run.ts';
import { Pusher, pushImage, type LayerSpec } from '../test/helpers/registry-push.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import type { TarSpec } from '../test/helpers/tar-writer.ts';

const LAYERS = 6;
const FILES_PER_LAYER = 3000;

function layer(i: number): LayerSpec {
  const entries: TarSpec[] = [];
  for (let d = 0; d < 30; d++) entries.push({ path: `l${i}/d${d}`, type: 'dir' });
  for (let f = 0; f < FILES_PER_LAYER; f++) {
    const size = 512 + ((f * 7919) % 6000);
    // half random (incompressible), half text: roughly what binaries and configs look like
    const content = Buffer.concat([randomBytes(size >> 1), Buffer.alloc(size - (size >> 1), `line ${f}\n`)]);
    entries.push({ path: `l${i}/d${f % 30}/f${f}`, content, mode: f % 11 === 0 ? 0o755 : 0o644, uid: f % 3, gid: f % 5 });
  }
  entries.push({ path: `l${i}/big.bin`, content: randomBytes(4 * 1024 * 1024) });
  entries.push({ path: `l${i}/link`, type: 'symlink', linkname: 'big.bin' });
  return { entries, compression: 'gzip' };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, v];
}

function treeStats(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (p: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      files++;
      const full = path.join(p, e.name);
      if (e.isDirectory()) {
        bytes += 4096;
        walk(full);
      } else bytes += Math.ceil(fs.lstatSync(full).size / 4096) * 4096;
    }
  };
  walk(dir);
  return { files, bytes };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-'));
const reg = await startRegistry();
try {
  process.stdout.write('generating and pushing the image... ');
  const pushed = await pushImage(new Pusher(reg.url), 'bench/app', 'v1', Array.from({ length: LAYERS }, (_, i) => layer(i)));
  const compressed = pushed.layers.reduce((n, l) => n + l.size, 0);
  console.log(`${LAYERS} layers, ${(compressed / 1e6).toFixed(1)} MB compressed, ${LAYERS * (FILES_PER_LAYER + 32)} files`);
  const ref = `${reg.host}/bench/app:v1`;

  const results: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  for (const fsType of (process.env.BENCH_ORDER === 'ext4-first' ? ['ext4', 'erofs'] : ['erofs', 'ext4']) as FsType[]) {
    const dataDir = path.join(work, `hearth-${fsType}`);
    const [t, r] = await timed(() => new ImageStore({ dataDir, fsType }).ensureRootfs(ref));
    results[`hearth-${fsType}`] = t;
    sizes[fsType] = fs.statSync(r.diskPath).blocks * 512;
    const [hit] = await timed(() => new ImageStore({ dataDir, fsType }).ensureRootfs(ref));
    results[`cache-hit-${fsType}`] = hit;
    console.log(`hearth pull + ${fsType} disk: ${t.toFixed(2)} s (disk ${(sizes[fsType]! / 1e6).toFixed(1)} MB allocated); cache hit ${(hit * 1000).toFixed(1)} ms`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  {
    // the extraction on a tmpfs: this machine's root filesystem is slow at creating files (see the report)
    const dataDir = path.join(work, 'hearth-shm');
    const scratchDir = fs.mkdtempSync('/dev/shm/hearth-bench-');
    const [t] = await timed(() => new ImageStore({ dataDir, scratchDir }).ensureRootfs(ref));
    results['hearth-erofs-shm'] = t;
    console.log(`hearth pull + erofs disk, extracting on /dev/shm: ${t.toFixed(2)} s`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }

  const layout = path.join(work, 'oci');
  const rootfs = path.join(work, 'rootfs');
  const [tCopy] = await timed(() => runTool('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:v1`]));
  const [tUnpack] = await timed(() => runTool('umoci', ['raw', 'unpack', '--image', `${layout}:v1`, rootfs]));
  const [tMkfs] = await timed(async () => {
    const { bytes, inodes } = ext4Size(treeStats(rootfs));
    await buildReadonlyExt4(path.join(work, 'tools.ext4'), rootfs, bytes, inodes);
  });
  const tools = tCopy + tUnpack + tMkfs;
  console.log(`tools: skopeo copy ${tCopy.toFixed(2)} s + umoci raw unpack ${tUnpack.toFixed(2)} s + mkfs.ext4 -d ${tMkfs.toFixed(2)} s = ${tools.toFixed(2)} s`);
  const hearth = results['hearth-erofs']!;
  console.log(`hearth (default erofs): ${hearth.toFixed(2)} s; ext4: ${results['hearth-ext4']!.toFixed(2)} s; cache hit: ${(results['cache-hit-erofs']! * 1000).toFixed(1)} ms`);
  console.log(`pull_vs_tools=${(hearth / tools).toFixed(2)}`);
} finally {
  await reg.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
