/**
 * docker cp through the control channel in a real microVM (QEMU microvm, TCG): files byte-exact both ways,
 * 100 MB streamed without being held in memory on either side, a tree with modes and symlinks, and escapes
 * that stay inside the container's root.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { readTar, type TarEntry } from '../../src/images/tar.ts';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import { ending, execSpec, execToEnd, runningContainer, sha256 } from '../helpers/exec-run.ts';
import { makeTar } from '../helpers/tar-writer.ts';
import { vmSuite, type VmEnv } from '../helpers/vm-env.ts';

const BIG = 100 * 1024 * 1024;
/** A container of 24 MiB has a 64 MiB VM (sandbox/vm-size.ts): 100 MB go through a guest with half that in RAM. */
const CONTAINER_MIB = 24;
/** The agent's resident peak may not exceed this: its stdin and output queues are bounded (about 2 MiB). */
const AGENT_PEAK_KIB = 8 << 10;

async function sh(vm: Sandbox, script: string): Promise<string> {
  const r = await execToEnd(vm, execSpec(['sh', '-c', script]));
  assert.equal(r.exit?.code, 0, `${script}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Every entry of a tar stream, bodies hashed (not kept) unless small. */
async function entries(tar: Readable): Promise<Array<TarEntry & { sha: string; body?: Buffer }>> {
  const out: Array<TarEntry & { sha: string; body?: Buffer }> = [];
  await readTar(tar, async (e, body) => {
    const hash = createHash('sha256');
    const small: Buffer[] = [];
    for await (const c of body.chunks()) {
      hash.update(c);
      if (e.size < 1 << 20) small.push(c);
    }
    out.push({ ...e, sha: hash.digest('hex'), body: e.size < 1 << 20 ? Buffer.concat(small) : undefined });
  });
  return out;
}

/** A tar of one file of `size` random bytes, produced as it is read; `sha` is known once it ended. */
function streamedTar(name: string, size: number): { tar: Readable; sha: () => string } {
  const header = Buffer.from(makeTar([{ path: name, content: Buffer.alloc(0), mode: 0o600 }], { endMarker: false }).subarray(0, 512));
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const hash = createHash('sha256');
  async function* gen() {
    yield header;
    for (let left = size; left > 0; ) {
      const chunk = randomBytes(Math.min(left, 1 << 20));
      hash.update(chunk);
      left -= chunk.length;
      yield chunk;
    }
    yield Buffer.alloc((512 - (size % 512)) % 512 + 1024);
  }
  return { tar: Readable.from(gen(), { objectMode: false }), sha: () => hash.digest('hex') };
}

/** The highest RSS seen while `work` runs. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

describe('docker cp in a running microVM', () => {
  const suite = vmSuite();
  describe('in one container', () => copyTests(suite));
});

function copyTests(suite: { env: VmEnv; busybox: string }): void {
  let vm: Sandbox;
  before(async () => {
    vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000', { memoryMib: CONTAINER_MIB });
  });
  after(async () => {
    if (vm) await ending(vm);
  });

  it('copies a file in and out byte-exact, and stats it', async () => {
    const content = randomBytes(300_000);
    await vm.copyIn('/tmp', Readable.from([makeTar([{ path: 'f.bin', content, mode: 0o640, uid: 12, gid: 34 }])]));
    assert.equal((await sh(vm, 'sha256sum /tmp/f.bin')).split(' ')[0], sha256(content));
    assert.equal(await sh(vm, 'stat -c "%a %u %g" /tmp/f.bin'), '640 12 34\n');
    const [e, ...rest] = await entries(await vm.copyOut('/tmp/f.bin'));
    assert.equal(rest.length, 0);
    assert.equal(e!.path, 'f.bin');
    assert.equal(e!.mode, 0o640);
    assert.equal(e!.sha, sha256(content));
    const stat = await vm.stat('/tmp/f.bin');
    assert.equal(stat.name, 'f.bin');
    assert.equal(stat.size, content.length);
    assert.equal(stat.mode, 0o100640);
  });

  it('streams 100 MB out and in, hashes matching, without holding the file in memory', async () => {
    // Written to disk before it is copied: twice, on a loaded host, the copy out of a file whose 100 MB were
    // still being written back was SIGKILLed in this 64 MiB guest (the guest's reclaim, not the copy's memory,
    // which the peaks below bound). See the stop's note.
    const guestSha = (await sh(vm, `mkdir -p /data && head -c ${BIG} /dev/urandom > /data/big && sync && sha256sum /data/big`)).split(' ')[0];
    const before = process.memoryUsage.rss();
    const out = await peakRss(async () => entries(await vm.copyOut('/data/big')));
    assert.equal(out.result[0]!.size, BIG);
    assert.equal(out.result[0]!.sha, guestSha);
    assert.ok(out.peak - before < 64 << 20, `RSS grew by ${(out.peak - before) >> 20} MiB copying 100 MiB out`);
    await sh(vm, 'rm /data/big');

    const src = streamedTar('big-in', BIG);
    const before2 = process.memoryUsage.rss();
    const inn = await peakRss(() => vm.copyIn('/data', src.tar));
    assert.ok(inn.peak - before2 < 64 << 20, `RSS grew by ${(inn.peak - before2) >> 20} MiB copying 100 MiB in`);
    assert.equal((await sh(vm, 'sha256sum /data/big-in && rm /data/big-in')).split(' ')[0], src.sha());
    // The agent is PID 1: the kernel's OOM killer cannot pick it, so a file it held would panic the guest.
    const agentPeak = Number((await sh(vm, "awk '/^VmHWM:/ { print $2 }' /proc/1/status")).trim());
    assert.ok(agentPeak > 0 && agentPeak < AGENT_PEAK_KIB, `the guest agent's resident peak was ${agentPeak} KiB`);
  });

  it('round-trips a tree with modes, symlinks, a hard link and a long name', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}`;
    await vm.copyIn(
      '/tmp',
      Readable.from([
        makeTar([
          { path: 'tree', type: 'dir', mode: 0o750 },
          { path: 'tree/a', content: 'a\n', mode: 0o640 },
          { path: 'tree/run.sh', content: '#!/bin/sh\n', mode: 0o4755 },
          { path: 'tree/rel', type: 'symlink', linkname: 'a' },
          { path: 'tree/abs', type: 'symlink', linkname: '/etc/passwd' },
          { path: 'tree/hard', type: 'hardlink', linkname: 'tree/a' },
          { path: `tree/${long}`, content: 'long\n', mode: 0o600 },
        ]),
      ]),
    );
    assert.equal(await sh(vm, 'cd /tmp/tree && stat -c "%a %n" . a run.sh && readlink rel && readlink abs && stat -c %h a'), '750 .\n640 a\n4755 run.sh\na\n/etc/passwd\n2\n');
    const got = await entries(await vm.copyOut('/tmp/tree'));
    const by = new Map(got.map((e) => [e.path, e]));
    assert.equal(by.get('tree')?.type, 'dir');
    assert.equal(by.get('tree')?.mode, 0o750);
    assert.equal(by.get('tree/run.sh')?.mode, 0o4755);
    assert.equal(by.get('tree/rel')?.linkname, 'a');
    assert.equal(by.get('tree/abs')?.linkname, '/etc/passwd');
    assert.equal(by.get(`tree/${long}`)?.body?.toString(), 'long\n');
    const links = [by.get('tree/a'), by.get('tree/hard')];
    assert.equal(links.filter((e) => e?.type === 'hardlink').length, 1, 'one of the two names is a hard link');
    assert.equal((await vm.stat('/tmp/tree/abs')).linkTarget, '/etc/passwd');
  });

  it('keeps paths, container symlinks and tar entries inside the container root', async () => {
    await sh(vm, 'mkdir -p /tmp/dest && ln -sf / /tmp/rootlink && echo inside > /tmp/marker');
    // `..` and an absolute symlink to / resolve inside the root: these name the container's own files.
    const viaDots = await entries(await vm.copyOut('../../tmp/marker'));
    assert.equal(viaDots[0]?.body?.toString(), 'inside\n');
    const viaLink = await entries(await vm.copyOut('/tmp/rootlink/../../tmp/marker'));
    assert.equal(viaLink[0]?.body?.toString(), 'inside\n');
    // The agent's own initramfs (/init, /run/hearth/root) is out of reach.
    await assert.rejects(vm.copyOut('/../../init'), { code: 'HEARTH_ERR_PATH_NOT_FOUND', message: 'Could not find the file /../../init in container' });
    await assert.rejects(vm.stat('/tmp/rootlink/../run/hearth/root'), { code: 'HEARTH_ERR_PATH_NOT_FOUND' });
    await vm.copyIn(
      '/tmp/dest',
      Readable.from([
        makeTar([
          { path: '../../x', content: 'dotdot\n' },
          { path: 'l', type: 'symlink', linkname: '/' },
          { path: 'l/etc/through', content: 'through\n' },
          { path: 'up', type: 'symlink', linkname: '../../..' },
          { path: 'up/y', content: 'up\n' },
        ]),
      ]),
    );
    assert.equal(await sh(vm, 'cat /tmp/dest/x /tmp/dest/etc/through /tmp/dest/y'), 'dotdot\nthrough\nup\n');
    assert.equal(await sh(vm, 'ls /x /etc/through /y /tmp/x 2>&1; true'), 'ls: /x: No such file or directory\nls: /etc/through: No such file or directory\nls: /y: No such file or directory\nls: /tmp/x: No such file or directory\n');
    // Through the container's own symlink to /: lands in the container's root, nowhere else.
    await vm.copyIn('/tmp/rootlink/..', Readable.from([makeTar([{ path: 'escaped', content: 'root\n' }])]));
    assert.equal(await sh(vm, 'cat /escaped && rm /escaped'), 'root\n');
  });

  it('answers a missing path, a non-directory and a bad archive as Docker does', async () => {
    await assert.rejects(vm.copyOut('/nope'), { code: 'HEARTH_ERR_PATH_NOT_FOUND', message: 'Could not find the file /nope in container' });
    await assert.rejects(vm.stat('/nope'), { code: 'HEARTH_ERR_PATH_NOT_FOUND' });
    await assert.rejects(vm.copyIn('/nope', Readable.from([makeTar([])])), { code: 'HEARTH_ERR_PATH_NOT_FOUND' });
    await assert.rejects(vm.copyIn('/etc/passwd', Readable.from([makeTar([])])), { code: 'HEARTH_ERR_COPY_INVALID', message: /not a directory/ });
    await assert.rejects(vm.copyIn('/tmp', Readable.from([Buffer.alloc(1024, 'x')])), { code: 'HEARTH_ERR_COPY_INVALID', message: /not a tar file/ });
    assert.equal(await sh(vm, 'echo alive'), 'alive\n', 'the agent serves on after failed copies');
  });
}
