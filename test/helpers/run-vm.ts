/** Boot one VM for a test, run a process to its end, and check that nothing of the VM is left. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildProcessSpec } from '../../src/containers/process-spec.ts';
import type { ImageProcessConfig } from '../../src/containers/process-spec.ts';
import type { ProcessExit, Sandbox, SandboxSpec, SandboxVolume } from '../../src/sandbox/sandbox.ts';
import { isAlive } from '../../src/vmm/process.ts';
import { collect } from './vm-env.ts';
import type { Collected, VmEnv } from './vm-env.ts';

export interface RunOptions {
  image: string;
  config: ImageProcessConfig;
  args?: string[];
  env?: Record<string, string>;
  hostname?: string;
  /** The container's memory (default 128 MiB) and CPUs (default 1). */
  memoryMib?: number;
  volumes?: SandboxVolume[];
  cpus?: number;
  /** The process's capability mask (the CAPABILITIES record); absent: the agent's own, every one. */
  capabilities?: number;
}

export function sandboxSpec(options: RunOptions): SandboxSpec {
  const id = randomUUID();
  return {
    id,
    rootfs: { path: options.image, fsType: 'ext4' },
    process: buildProcessSpec(options.config, {
      args: options.args ?? [],
      env: options.env ?? {},
      hostname: options.hostname ?? `h-${id.slice(0, 8)}`,
      ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
    }),
    cpus: options.cpus ?? 1,
    memoryMib: options.memoryMib ?? 128,
    ...(options.volumes ? { volumes: options.volumes } : {}),
  };
}

export interface Finished extends Collected {
  exit: ProcessExit | null;
  pid: number;
}

/** Runs to the process's end and asserts that the VMM and its run directory are gone afterwards. */
export async function runToExit(env: VmEnv, options: RunOptions, during?: (s: Sandbox, c: Collected) => Promise<void>): Promise<Finished> {
  const spec = sandboxSpec(options);
  const sandbox = await env.launcher.launch(spec);
  const collected = collect(sandbox);
  try {
    if (during) await during(sandbox, collected);
    const exit = await sandbox.wait();
    await assertGone(env, sandbox);
    return { ...collected, exit, pid: sandbox.info.pid };
  } catch (e) {
    await sandbox.kill();
    await sandbox.release();
    throw e;
  }
}

export async function assertGone(env: VmEnv, sandbox: Sandbox): Promise<void> {
  assert.equal(await isAlive(sandbox.info.pid), false, 'the VMM process is gone');
  await sandbox.release();
  assert.equal(existsSync(path.join(env.vmsDir, sandbox.info.id)), false, 'the run directory is gone');
}
