/** Facts about host processes, read from /proc: whether one is alive, and what it was started with. */
import { readFile } from 'node:fs/promises';

/**
 * A process is alive when it exists and is not a zombie. Zombies count as gone: an orphaned VMM whose
 * parent never reaps it (a PID 1 that does not reap, as in some sandboxes) holds no resources but its pid.
 */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function commandLine(pid: number): Promise<string[]> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/** Resident memory of a process in bytes (VmRSS), or null when it is gone. */
export async function residentBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Memory a process holds, from /proc/<pid>/smaps_rollup: `rss` counts shared pages in full (the kernel
 * image and QEMU's binary are mapped by every VM), `pss` shares them out, `private` is what ending the
 * process would give back. Null when it is gone.
 */
export async function memoryOf(pid: number): Promise<{ rss: number; pss: number; private: number } | null> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), pss: kb('Pss'), private: kb('Private_Clean') + kb('Private_Dirty') };
  } catch {
    return null;
  }
}

export async function waitUntilGone(pid: number, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return !(await isAlive(pid));
}
