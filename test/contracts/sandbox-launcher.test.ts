/**
 * The sandbox contract (./sandbox-launcher.case.ts) against the fake launcher the containers tests use and
 * against real microVMs (QEMU microvm under TCG, busybox from test-images.ts): seven VMs in all.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildProcessSpec } from '../../src/containers/process-spec.ts';
import type { ProcessSpec, SandboxSpec } from '../../src/sandbox/sandbox.ts';
import { isAlive } from '../../src/vmm/process.ts';
import { FakeLauncher } from '../containers/fakes.ts';
import { busyboxImage } from '../helpers/test-images.ts';
import { leftovers, vmEnv } from '../helpers/vm-env.ts';
import { killVmmsUnder } from '../helpers/vmm-processes.ts';
import { sandboxLauncherContract, type ProcessKind } from './sandbox-launcher.case.ts';

sandboxLauncherContract('FakeLauncher', async () => {
  const launcher = new FakeLauncher();
  const argv = (p: ProcessKind): string[] => {
    switch (p.kind) {
      case 'print-exit':
        return ['print-exit', p.stdout, p.stderr, String(p.code)];
      case 'sleep':
        return ['sleep'];
      case 'missing':
        return ['badexec'];
    }
  };
  return {
    launcher,
    spec: (p) => spec('/images/fake.ext4', { argv: argv(p), env: [], cwd: '/', user: '', hostname: 'fake', hosts: '' }),
    running: async (info) => launcher.vms.get(info.id)?.alive ?? false,
    leftBehind: async (id) => launcher.runDirs.has(id),
    async close() {
      assert.deepEqual(launcher.alive().map((v) => v.spec.id), [], 'no VM left running');
      assert.deepEqual([...launcher.runDirs], [], 'no run directory left');
    },
  };
});

sandboxLauncherContract('MicroVmLauncher', async () => {
  const env = await vmEnv();
  const busybox = await busyboxImage();
  const argv = (p: ProcessKind): string[] => {
    switch (p.kind) {
      case 'print-exit':
        return ['/bin/sh', '-c', 'echo "$1"; echo "$2" >&2; exit "$3"', 'sh', p.stdout, p.stderr, String(p.code)];
      case 'sleep':
        return ['/bin/sleep', '1000000'];
      case 'missing':
        return ['/bin/no-such-program'];
    }
  };
  return {
    launcher: env.launcher,
    spec: (p) => spec(busybox, buildProcessSpec({ cmd: argv(p) }, { args: [], env: {}, hostname: 'contract' })),
    running: (info) => isAlive(info.pid),
    leftBehind: async (id) => existsSync(path.join(env.vmsDir, id)),
    async close() {
      try {
        assert.deepEqual(await killVmmsUnder(env.dir), [], 'no VMM left running');
        assert.deepEqual(await leftovers(env.vmsDir), [], 'no VM left anything behind');
      } finally {
        await env.close();
      }
    },
  };
});

function spec(image: string, process: ProcessSpec): SandboxSpec {
  return { id: randomUUID(), rootfs: { path: image, fsType: 'ext4' }, process, cpus: 1, memoryMib: 128 };
}
