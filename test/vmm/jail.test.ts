/**
 * The VMM jail, checked on a running VM's real VMM (its /proc entry) and, for what a process inside the
 * jail can reach, with a static busybox run through the same jailer and the same kind of jail.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jailerArgs } from '../../src/tools/jailer.ts';
import { locateQemu } from '../../src/tools/qemu.ts';
import { RAMSEAL_RELATIVE_PATH, sealCopy } from '../../src/tools/ramseal.ts';
import { VmCgroups, cgroupInstance } from '../../src/vmm/jail/cgroups.ts';
import { VmmJail } from '../../src/vmm/jail/vmm-jail.ts';
import { locateGuestArtifacts } from '../../src/sandbox/guest-artifacts.ts';
import { sandboxSpec } from '../helpers/run-vm.ts';
import { CACHE_DIR, collect, vmSuite } from '../helpers/vm-env.ts';

const suite = vmSuite();
const status = async (pid: number, field: string) =>
  new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();

/** A jail as the manager makes them, the guest's files, and a fresh VM id with its run directory. */
async function jailForOneVm() {
  const cgroups = VmCgroups.detect(cgroupInstance(suite.env.vmsDir));
  const settings = { cacheDir: CACHE_DIR, vmsDir: suite.env.vmsDir, accel: 'tcg' as const, uidBase: 1_900_000_000, uidCount: 1_000_000 };
  const jail = await VmmJail.create(settings, await locateQemu(), cgroups);
  const guest = await locateGuestArtifacts(CACHE_DIR);
  const id = randomUUID();
  const runDir = path.join(suite.env.vmsDir, id);
  await mkdir(runDir, { recursive: true });
  return { cgroups, jail, guest, id, runDir };
}

describe('VMM jail', () => {
  it('runs a VM\'s VMM unprivileged, filtered and rooted in a jail holding only what it needs', async () => {
    const spec = sandboxSpec({ image: suite.busybox, config: { cmd: ['/bin/sh', '-c', 'echo up; sleep 600'] } });
    const sandbox = await suite.env.launcher.launch(spec);
    try {
      const c = collect(sandbox);
      await c.started;
      const pid = sandbox.info.pid;
      const uid = Number((await status(pid, 'Uid'))!.split(/\s+/)[0]);
      assert.notEqual(uid, 0, 'uid is not root');
      assert.equal(await status(pid, 'CapEff'), '0000000000000000');
      assert.equal(await status(pid, 'CapBnd'), '0000000000000000');
      assert.equal(await status(pid, 'NoNewPrivs'), '1');
      assert.equal(await status(pid, 'Seccomp'), '2');
      assert.equal(await status(pid, 'THP_enabled'), '0', 'transparent huge pages off');

      const root = `/proc/${pid}/root`;
      // A VM resumed from a template has a /proc of its own processes (to map the template's RAM: see below).
      const resumed = sandbox.info.template !== null;
      assert.deepEqual((await readdir(root)).sort(), ['boot', 'disks', 'lib', 'lib64', ...(resumed ? ['proc'] : []), 'usr', 'vm']);
      if (resumed) assert.equal(existsSync(`${root}/proc/sys`), false, 'its /proc has processes only');
      assert.deepEqual((await readdir(`${root}/disks`)).sort(), ['rootfs', 'scratch']);
      assert.deepEqual((await readdir(`${root}/boot`)).sort(), ['initrd', 'vmlinux']);
      for (const hostPath of ['/etc', '/root', '/var', '/tmp', ...(resumed ? [] : ['/proc']), suite.env.dir]) {
        assert.equal(existsSync(path.join(root, hostPath)), false, `${hostPath} is not in the jail`);
      }
      const cgroups = await readFile(`/proc/${pid}/cgroup`, 'utf8');
      assert.match(cgroups, new RegExp(`hearth/[0-9a-f]{8}-${spec.id}`), 'the VMM is in its own cgroup');
      for (const ns of ['net', 'mnt', 'ipc', 'uts', 'cgroup']) {
        assert.notEqual(await readlink(`/proc/${pid}/ns/${ns}`), await readlink(`/proc/self/ns/${ns}`), `the VMM has a ${ns} namespace of its own`);
      }
      assert.match(await readFile(`/proc/${pid}/limits`, 'utf8'), /^Max file size\s+\d+\s+\d+\s+bytes/m, 'the files it writes are capped');
      const sockets = await stat(path.join(suite.env.vmsDir, spec.id, 'vmm'));
      assert.deepEqual([sockets.uid, sockets.mode & 0o777], [0, 0o755], 'its socket directory is root\'s again once the guest runs');
    } finally {
      await sandbox.kill();
      await sandbox.release();
    }
  });

  it('gives a VM a uid of its own: two VMs never share one', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => suite.env.launcher.launch(sandboxSpec({ image: suite.busybox, config: { cmd: ['/bin/sleep', '600'] } }))));
    try {
      assert.notEqual(await status(a!.info.pid, 'Uid'), await status(b!.info.pid, 'Uid'));
    } finally {
      for (const s of [a!, b!]) {
        await s.kill();
        await s.release();
      }
    }
  });

  it('keeps a process in the jail from the host\'s files, its network and the jail itself', async () => {
    const server = http.createServer((_, res) => res.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const secret = path.join(suite.env.dir, 'secret');
    await writeFile(secret, 'host secret');
    try {
      const { cgroups, jail, guest, id, runDir } = await jailForOneVm();
      const prepared = await jail.prepare({ id, runDir, vcpus: 1, memoryMib: 128, kernel: guest.kernel, initrd: guest.initramfs, drives: [], taps: [] });
      // A file handed over open (as a saved VM state is): readable through its descriptor, nothing more.
      const given = path.join(suite.env.dir, 'given');
      await writeFile(given, 'given state', { mode: 0o600 });
      const spec = { ...prepared.spec, reads: [{ path: given, fd: 9 }], binds: [...prepared.spec.binds, { source: '/bin/busybox', target: '/bin/busybox', readOnly: true }] };
      const script = [
        'busybox id -u',
        `busybox cat ${secret} 2>&1 || echo no-secret`,
        'busybox cat /etc/shadow 2>&1 || echo no-shadow',
        `busybox wget -q -O - -T 2 http://127.0.0.1:${port}/ 2>&1 || echo no-network`,
        'busybox touch /boot/x 2>&1 || echo jail-read-only',
        'echo own > /vm/own && echo vm-writable',
        'busybox cat <&9; echo',
        'echo x >&9 2>/dev/null || echo given-read-only',
        `busybox cat ${given} 2>/dev/null || echo given-not-openable`,
      ].join('; ');
      const r = spawnSync(prepared.jailer, jailerArgs(spec, '/bin/busybox', ['sh', '-c', script]), { encoding: 'utf8', timeout: 30_000 });
      jail.release(id);
      await cgroups?.remove(id);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(Number(lines[0]), spec.uid);
      assert.ok(lines.includes('no-secret') && !r.stdout.includes('host secret'), r.stdout);
      assert.ok(lines.includes('no-shadow'), r.stdout);
      assert.ok(lines.includes('no-network') && !r.stdout.includes('reached'), r.stdout);
      assert.ok(lines.includes('jail-read-only'), r.stdout);
      assert.ok(lines.includes('vm-writable'), r.stdout);
      assert.ok(lines.includes('given state') && lines.includes('given-read-only') && lines.includes('given-not-openable'), r.stdout);
      assert.deepEqual(((await cgroups?.list()) ?? []).filter((i) => i === id), [], 'the cgroup is gone');
      await rm(runDir, { recursive: true, force: true });
    } finally {
      server.close();
    }
  });

  it('gives a resumed VM\'s VMM its template\'s RAM sealed, through a /proc in which it sees only itself', async () => {
    const ram = path.join(suite.env.dir, 'template-ram');
    await writeFile(ram, Buffer.concat([Buffer.from('template ram'), Buffer.alloc(4096 - 12)]), { mode: 0o600 });
    const { cgroups, jail, guest, id, runDir } = await jailForOneVm();
    const state = path.join(suite.env.dir, 'template-state');
    await writeFile(state, 'devices', { mode: 0o600 });
    const copy = await sealCopy(path.join(CACHE_DIR, RAMSEAL_RELATIVE_PATH), ram);
    try {
      const prepared = await jail.prepare({ id, runDir, vcpus: 1, memoryMib: 128, kernel: guest.kernel, initrd: guest.initramfs, drives: [], taps: [], restoreFrom: { state, memory: copy.path } });
      assert.match(prepared.memoryPath ?? '', /^\/proc\/self\/fd\/\d+$/);
      const spec = { ...prepared.spec, binds: [...prepared.spec.binds, { source: '/bin/busybox', target: '/bin/busybox', readOnly: true }] };
      const script = [
        `busybox head -c 12 ${prepared.memoryPath}; echo`,
        `busybox printf planted 1<>${prepared.memoryPath} 2>/dev/null || echo ram-sealed`,
        'busybox test -e /proc/1 || echo no-init',
        'busybox test -e /proc/sys || echo no-sys',
        `busybox ls /proc | busybox grep -c '^[0-9]'`,
      ].join('; ');
      const r = spawnSync(prepared.jailer, jailerArgs(spec, '/bin/busybox', ['sh', '-c', script]), { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.deepEqual(lines.slice(0, 4), ['template ram', 'ram-sealed', 'no-init', 'no-sys'], r.stdout);
      assert.ok(Number(lines[4]) <= 3, `only its own processes (the shell, ls, grep): ${r.stdout}`);
      assert.equal((await readFile(copy.path)).subarray(0, 12).toString(), 'template ram', 'unchanged');

      // The path names the holder's descriptor: were the holder gone and its pid reused, it could name any
      // file of any process. The jailer hands over only a sealed copy root made: not a plain file, and not a
      // copy sealed just as well by another user (who would choose the RAM a clone resumes with).
      const theirs = path.join(os.tmpdir(), `hearth-stranger-ram-${randomUUID()}`);
      await writeFile(theirs, Buffer.alloc(4096, 0x90), { mode: 0o644 });
      const strangers = spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', path.join(CACHE_DIR, RAMSEAL_RELATIVE_PATH), theirs], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        const fd = await new Promise<string>((resolve, reject) => {
          strangers.stdout.once('data', (b: Buffer) => resolve(b.toString().trim()));
          strangers.once('exit', (code) => reject(new Error(`the stranger's hearth-ramseal exited with ${code}`)));
        });
        for (const impostor of [state, `/proc/${strangers.pid}/fd/${fd}`]) {
          const swapped = { ...spec, reads: spec.reads!.map((r) => (r.sealed ? { ...r, path: impostor } : r)) };
          const refused = spawnSync(prepared.jailer, jailerArgs(swapped, '/bin/busybox', ['true']), { encoding: 'utf8', timeout: 30_000 });
          assert.equal(refused.status, 1, impostor);
          assert.match(refused.stderr, /is not a sealed copy made by root/);
        }
      } finally {
        strangers.kill('SIGKILL');
        await rm(theirs, { force: true });
      }
    } finally {
      copy.end();
      jail.release(id);
      await cgroups?.remove(id);
      await rm(runDir, { recursive: true, force: true });
    }
  });
});
