/**
 * Per-VM cgroups on both layouts. v1 is this machine's and is exercised for real by the jail and e2e tests;
 * here both layouts are checked on a directory tree shaped like each (v2 cannot be mounted on a v1 host).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VmCgroups } from '../../src/vmm/jail/cgroups.ts';

const LIMITS = { memoryBytes: 640 * 2 ** 20, pids: 128, cpus: 1.5 };

function tree(files: Record<string, string>, dirs: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'hearth-cgroup-'));
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(root, f), text);
  return root;
}

describe('VM cgroups', () => {
  it('v2: one leaf under hearth/, the controllers the root offers enabled, limits written', async () => {
    const root = tree({ 'cgroup.controllers': 'cpuset cpu io memory pids', 'cgroup.subtree_control': 'cpu memory pids' });
    try {
      const cgroups = VmCgroups.detect('abcd1234', root)!;
      assert.equal(cgroups.version, 2);
      const dirs = await cgroups.create('vm-1', LIMITS);
      assert.deepEqual(dirs, [join(root, 'hearth', 'abcd1234-vm-1')]);
      assert.equal(readFileSync(join(root, 'hearth', 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpu');
      assert.equal(readFileSync(join(dirs[0]!, 'memory.max'), 'utf8'), String(640 * 2 ** 20));
      assert.equal(readFileSync(join(dirs[0]!, 'pids.max'), 'utf8'), '128');
      assert.equal(readFileSync(join(dirs[0]!, 'cpu.max'), 'utf8'), '150000 100000');
      assert.deepEqual(await cgroups.list(), ['vm-1']);
      assert.deepEqual(await VmCgroups.detect('other000', root)!.list(), [], "another manager's leaves are not listed");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('v2: a controller the root does not offer is left out, not written', async () => {
    const root = tree({ 'cgroup.controllers': 'memory', 'cgroup.subtree_control': 'memory' });
    try {
      const [leaf] = await VmCgroups.detect('abcd1234', root)!.create('vm-2', LIMITS);
      assert.equal(readFileSync(join(root, 'hearth', 'cgroup.subtree_control'), 'utf8'), '+memory');
      assert.throws(() => readFileSync(join(leaf!, 'pids.max')));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('v1: a leaf in each of the memory, pids and cpu hierarchies', async () => {
    const root = tree({}, ['memory', 'pids', 'cpu']);
    try {
      const cgroups = VmCgroups.detect('abcd1234', root)!;
      assert.equal(cgroups.version, 1);
      const dirs = await cgroups.create('vm-3', LIMITS);
      assert.deepEqual(dirs, ['memory', 'pids', 'cpu'].map((c) => join(root, c, 'hearth', 'abcd1234-vm-3')));
      assert.equal(readFileSync(join(dirs[0]!, 'memory.limit_in_bytes'), 'utf8'), String(640 * 2 ** 20));
      assert.equal(readFileSync(join(dirs[1]!, 'pids.max'), 'utf8'), '128');
      assert.equal(readFileSync(join(dirs[2]!, 'cpu.cfs_quota_us'), 'utf8'), '150000');
      assert.deepEqual(await cgroups.list(), ['vm-3']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds no layout where neither is mounted', () => {
    const root = tree({});
    try {
      assert.equal(VmCgroups.detect('abcd1234', root), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
