/**
 * A real microVM launcher for tests: QEMU microvm under TCG (so results do not depend on the host's KVM),
 * the guest artifacts from HEARTH_CACHE_DIR, and a temporary run directory removed afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { createMicroVmLauncher } from '../../src/assemble/launcher.ts';
import { DEFAULT_CACHE_DIR } from '../../src/sandbox/guest-artifacts.ts';
import type { MicroVmLauncher } from '../../src/sandbox/microvm-launcher.ts';
import type { OutputChunk, Sandbox } from '../../src/sandbox/sandbox.ts';
import { busyboxImage } from './test-images.ts';
import { killVmmsUnder } from './vmm-processes.ts';

export const CACHE_DIR = process.env.HEARTH_CACHE_DIR ?? DEFAULT_CACHE_DIR;

export interface VmEnv {
  dir: string;
  vmsDir: string;
  launcher: MicroVmLauncher;
  close(): Promise<void>;
}

/** VMs resume from templates (the default, as the manager's) unless `snapshots` is false. */
export async function makeLauncher(vmsDir: string, jailed = true, snapshots = true, warn?: (message: string) => void): Promise<MicroVmLauncher> {
  const { launcher } = await createMicroVmLauncher({
    cacheDir: CACHE_DIR,
    vmsDir,
    vmm: 'qemu',
    accel: 'tcg',
    scratchSizeMib: 256,
    probeCacheFile: path.join(vmsDir, '..', 'accel.json'),
    jail: { enabled: jailed, uidBase: 1_900_000_000, uidCount: 1_000_000 },
    snapshots,
    ...(warn ? { warn } : {}),
  });
  return launcher;
}

export async function vmEnv(): Promise<VmEnv> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-vm-'));
  const vmsDir = path.join(dir, 'vms');
  return {
    dir,
    vmsDir,
    launcher: await makeLauncher(vmsDir),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface Collected {
  stdout: string;
  stderr: string;
  chunks: OutputChunk[];
  started: Promise<number>;
  agentErrors: string[];
}

/** Gathers a sandbox's output from the moment it is called. */
export function collect(sandbox: Sandbox): Collected {
  const result: Collected = {
    stdout: '',
    stderr: '',
    chunks: [],
    agentErrors: [],
    started: new Promise((resolve) => sandbox.once('started', ({ pid }) => resolve(pid))),
  };
  sandbox.on('output', (chunk) => {
    result.chunks.push(chunk);
    if (chunk.stream === 'stdout') result.stdout += chunk.data.toString('utf8');
    else result.stderr += chunk.data.toString('utf8');
  });
  sandbox.on('agentError', (e) => result.agentErrors.push(e.message));
  return result;
}

/** Files left in a run directory tree, for leak checks. */
export async function leftovers(vmsDir: string): Promise<string[]> {
  try {
    return await readdir(vmsDir, { recursive: true });
  } catch {
    return [];
  }
}

/**
 * For a describe block of VM tests: a fresh launcher and the busybox test image before the tests, and
 * after them a check that no VM left anything in its run directory. Read `suite.env` inside tests.
 */
export function vmSuite(): { env: VmEnv; busybox: string } {
  const suite = {} as { env: VmEnv; busybox: string };
  before(async () => {
    suite.env = await vmEnv();
    suite.busybox = await busyboxImage();
  });
  after(async () => {
    try {
      assert.deepEqual(await killVmmsUnder(suite.env.dir), [], 'no VMM left running');
      assert.deepEqual(await leftovers(suite.env.vmsDir), [], 'no VM left anything behind');
    } finally {
      await suite.env.close();
    }
  });
  return suite;
}
