/**
 * ScratchDisks.ensure (src/sandbox/scratch-disk.ts), which makes a container's writable layer ahead of its
 * launch: a sparse copy of the empty ext4 template when there is none (its directory made private), and
 * nothing at all when there is one, since a container started before keeps its changes there.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ScratchDisks } from '../../src/sandbox/scratch-disk.ts';

describe('ScratchDisks.ensure', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-scratch-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('makes an empty ext4 layer where there is none, and keeps one that is there', async () => {
    const disks = new ScratchDisks(path.join(dir, 'templates'));
    const layer = path.join(dir, 'containers', 'c1', 'writable-layer.ext4');
    await disks.ensure(layer, 64);
    const made = await stat(layer);
    assert.equal(made.size, 64 * 2 ** 20);
    assert.ok(made.blocks * 512 < made.size / 4, 'sparse');
    const superblock = (await readFile(layer)).subarray(1024 + 0x38, 1024 + 0x3a);
    assert.equal(superblock.readUInt16LE(0), 0xef53, 'an ext4 superblock');
    assert.equal((await stat(path.dirname(layer))).mode & 0o777, 0o700, 'the container directory is private');

    await writeFile(layer, 'changes the container made');
    await disks.ensure(layer, 64);
    assert.equal(await readFile(layer, 'utf8'), 'changes the container made', 'an existing layer is left as it is');
  });
});
