/**
 * npm run bench:volumes — what volumes cost and give, on jailed VMs: the time from launch to the entrypoint's
 * first output with no volume, with a volume disk (its first use, which copies the image's directory in) and
 * with a host directory (a virtiofsd started beside the VMM), alternating, BENCH_N of each (default 5); then
 * read throughput in the guest (cold caches) of a 256 MiB file from a host directory (virtio-fs) and from a
 * volume disk (virtio-blk), and write throughput to each (`dd bs=1M`, then `sync`), timed by the guest's own clock.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OutputChunk, SandboxVolume } from '../src/sandbox/sandbox.ts';
import { ScratchDisks } from '../src/sandbox/scratch-disk.ts';
import { sandboxSpec } from '../test/helpers/run-vm.ts';
import { busyboxImage } from '../test/helpers/test-images.ts';
import { makeLauncher } from '../test/helpers/vm-env.ts';
import { median, summary } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 5);
const FILE_MIB = 256;

const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-volumes-'));
try {
  const launcher = await makeLauncher(path.join(dir, 'vms'), true);
  const image = await busyboxImage();
  const scratch = new ScratchDisks(path.join(dir, 'templates'));
  const share = path.join(dir, 'share');
  await mkdir(share);
  await writeFile(path.join(share, 'big'), randomBytes(FILE_MIB * 2 ** 20));

  /** Runs `script` to its end; returns the ms from launch to the first output and the output chunks. */
  const run = async (script: string, volumes: SandboxVolume[]) => {
    const t0 = performance.now();
    const sandbox = await launcher.launch({ ...sandboxSpec({ image, config: { cmd: ['/bin/sh', '-c', script] }, memoryMib: 256 }), volumes });
    const chunks: OutputChunk[] = [];
    let first = 0;
    sandbox.on('output', (c) => {
      if (chunks.length === 0) first = performance.now() - t0;
      chunks.push(c);
    });
    await sandbox.wait();
    await sandbox.release();
    return { first, chunks };
  };
  const disk = async (i: number) => {
    const file = path.join(dir, `vol-${i}.ext4`);
    await scratch.create(file, 1024);
    return file;
  };

  const boot = { none: [] as number[], disk: [] as number[], host: [] as number[] };
  for (let i = 0; i < N; i++) {
    boot.none.push((await run('echo ready', [])).first);
    boot.disk.push((await run('echo ready', [{ kind: 'disk', path: await disk(i), target: '/data', readOnly: false, copyUp: true }])).first);
    boot.host.push((await run('echo ready', [{ kind: 'host', path: share, target: '/mnt/share', readOnly: false }])).first);
  }
  console.log(summary('to first output, no volume', boot.none));
  console.log(summary('with a volume disk', boot.disk));
  console.log(summary('with a host directory', boot.host));

  /** MB/s between the guest-clock timestamps of the lines `start` and `done`. */
  const rate = (chunks: OutputChunk[], mib: number) => {
    const at = (line: string) => chunks.find((c) => c.data.toString().includes(line))!.timestamp.getTime();
    return (mib * 2 ** 20) / 1e6 / ((at('done') - at('start')) / 1000);
  };
  const rates = { hostRead: [] as number[], hostWrite: [] as number[], diskRead: [] as number[], diskWrite: [] as number[] };
  const timed = (cmd: string) => `echo start; ${cmd}; echo done`;
  for (let i = 0; i < 3; i++) {
    const host = await run(timed(`cat /mnt/share/big > /dev/null`), [{ kind: 'host', path: share, target: '/mnt/share', readOnly: true }]);
    rates.hostRead.push(rate(host.chunks, FILE_MIB));
    const write = (file: string) => timed(`dd if=/dev/zero of=${file} bs=1M count=${FILE_MIB} 2>/dev/null; sync`);
    const hostWrite = await run(write('/mnt/share/out'), [{ kind: 'host', path: share, target: '/mnt/share', readOnly: false }]);
    rates.hostWrite.push(rate(hostWrite.chunks, FILE_MIB));
    const volume = await disk(100 + i);
    const diskWrite = await run(write('/data/big'), [{ kind: 'disk', path: volume, target: '/data', readOnly: false, copyUp: true }]);
    rates.diskWrite.push(rate(diskWrite.chunks, FILE_MIB));
    const diskRead = await run(timed('cat /data/big > /dev/null'), [{ kind: 'disk', path: volume, target: '/data', readOnly: true, copyUp: false }]);
    rates.diskRead.push(rate(diskRead.chunks, FILE_MIB));
  }
  for (const [k, v] of Object.entries(rates)) console.log(summary(`${k} (${FILE_MIB} MiB)`, v, 'MB/s'));
  console.log(`volume_boot_vs_none=${(median(boot.disk) / median(boot.none)).toFixed(3)} host_boot_vs_none=${(median(boot.host) / median(boot.none)).toFixed(3)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
