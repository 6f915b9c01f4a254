/**
 * Per-VM cgroups: the VMM's CPU, memory and pids are capped so one VM cannot starve the host or its
 * neighbours. cgroup v2 where the host has it (one leaf per VM under `<root>/hearth/`), else v1 (a leaf
 * per VM in each of the memory, pids and cpu hierarchies). The manager creates the leaf and writes the
 * limits; the jailer moves the VMM into it before exec; the leaf is removed once the VMM is gone.
 *
 * Leaves are named `<instance>-<vm id>`, the instance being a hash of the manager's VM directory, so that
 * managers sharing a host (tests do) never touch each other's leaves.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface VmLimits {
  memoryBytes: number;
  pids: number;
  /** CPU time as a number of cores (may be fractional). */
  cpus: number;
}

const CPU_PERIOD_US = 100_000;
const PARENT = 'hearth';
const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const V2_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

export type CgroupVersion = 1 | 2;

/** Names one manager's cgroups apart from another's on the same host: a hash of its VM directory. */
export function cgroupInstance(vmsDir: string): string {
  return createHash('sha256').update(path.resolve(vmsDir)).digest('hex').slice(0, 8);
}

export class VmCgroups {
  private constructor(
    readonly version: CgroupVersion,
    private readonly root: string,
    private readonly instance: string,
  ) {}

  /** The host's layout under `root` (default /sys/fs/cgroup); undefined when neither v2 nor v1 memory is mounted. */
  static detect(instance: string, root = '/sys/fs/cgroup'): VmCgroups | undefined {
    if (existsSync(path.join(root, 'cgroup.controllers'))) return new VmCgroups(2, root, instance);
    if (V1_CONTROLLERS.every((c) => existsSync(path.join(root, c)))) return new VmCgroups(1, root, instance);
    return undefined;
  }

  /** Creates the VM's leaf (or leaves) with `limits`; returns the directories the VMM must join. */
  async create(vmId: string, limits: VmLimits): Promise<string[]> {
    const name = this.leafName(vmId);
    const quota = String(Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US)));
    if (this.version === 2) {
      const parent = path.join(this.root, PARENT);
      await mkdir(parent, { recursive: true });
      const available = (await readFile(path.join(this.root, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
      const wanted = V2_CONTROLLERS.filter((c) => available.includes(c));
      if (wanted.length > 0) await writeFile(path.join(parent, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
      const leaf = path.join(parent, name);
      await mkdir(leaf, { recursive: true });
      if (wanted.includes('memory')) await writeFile(path.join(leaf, 'memory.max'), String(limits.memoryBytes));
      if (wanted.includes('pids')) await writeFile(path.join(leaf, 'pids.max'), String(limits.pids));
      if (wanted.includes('cpu')) await writeFile(path.join(leaf, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
      return [leaf];
    }
    const dirs = V1_CONTROLLERS.map((controller) => path.join(this.root, controller, PARENT, name));
    await Promise.all(dirs.map((leaf) => mkdir(leaf, { recursive: true })));
    const [memory, pids, cpu] = dirs as [string, string, string];
    await Promise.all([
      writeFile(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes)),
      writeFile(path.join(pids, 'pids.max'), String(limits.pids)),
      writeFile(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US)).then(() => writeFile(path.join(cpu, 'cpu.cfs_quota_us'), quota)),
    ]);
    return dirs;
  }

  /** Removes the VM's leaves; the VMM must be gone (a leaf with a process in it cannot be removed). */
  async remove(vmId: string): Promise<void> {
    for (const leaf of this.leaves(this.leafName(vmId))) await removeLeaf(leaf);
  }

  /** VM ids that have a leaf of this instance. */
  async list(): Promise<string[]> {
    const ids = new Set<string>();
    const parents = this.version === 2 ? [path.join(this.root, PARENT)] : V1_CONTROLLERS.map((c) => path.join(this.root, c, PARENT));
    for (const parent of parents) {
      for (const entry of await readdir(parent).catch(() => [] as string[])) {
        if (entry.startsWith(`${this.instance}-`)) ids.add(entry.slice(this.instance.length + 1));
      }
    }
    return [...ids];
  }

  private leafName(vmId: string): string {
    return `${this.instance}-${vmId}`;
  }

  private leaves(name: string): string[] {
    return this.version === 2
      ? [path.join(this.root, PARENT, name)]
      : V1_CONTROLLERS.map((c) => path.join(this.root, c, PARENT, name));
  }
}

/** A leaf is briefly busy while the kernel finishes moving an exiting VMM out; retried for up to a second. */
async function removeLeaf(leaf: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(leaf);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
