/**
 * A real microVM launcher for tests: QEMU microvm under TCG (nested KVM here is slower than emulation),
 * the guest artifacts from HEARTH_CACHE_DIR, and a temporary run directory removed afterwards.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CACHE_DIR, locateGuestArtifacts } from '../../src/sandbox/guest-artifacts.ts';
import { MicroVmLauncher } from '../../src/sandbox/microvm-launcher.ts';
import { ScratchDisks } from '../../src/sandbox/scratch-disk.ts';
import type { OutputChunk, Sandbox } from '../../src/sandbox/sandbox.ts';
import { qemuKernelArgs } from '../../src/vmm/qemu/kernel-args.ts';
import { QemuDriver } from '../../src/vmm/qemu/driver.ts';

export const CACHE_DIR = process.env.HEARTH_CACHE_DIR ?? DEFAULT_CACHE_DIR;

export interface VmEnv {
  dir: string;
  vmsDir: string;
  launcher: MicroVmLauncher;
  close(): Promise<void>;
}

export async function makeLauncher(vmsDir: string): Promise<MicroVmLauncher> {
  const guest = await locateGuestArtifacts(CACHE_DIR);
  const driver = new QemuDriver({ accel: 'tcg', baseKernelArgs: await qemuKernelArgs('tcg') });
  return new MicroVmLauncher({
    vmsDir,
    driver,
    guest,
    scratch: new ScratchDisks(path.join(CACHE_DIR, 'scratch-templates')),
    scratchSizeMib: 256,
  });
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
