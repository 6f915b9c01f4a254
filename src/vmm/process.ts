/** Facts about host processes, read from /proc: whether one is alive, and what it was started with. */
import { readdir, readFile } from 'node:fs/promises';

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

/** /proc's clock ticks (USER_HZ): 100 on every Linux architecture Hearth runs on, whatever the kernel's HZ. */
const USER_HZ = 100;

/**
 * CPU time a process has used, every thread of it, in user mode and in the kernel (fields 14 and 15 of
 * /proc/<pid>/stat), in nanoseconds; null when it is gone.
 */
export async function cpuTimeOf(pid: number): Promise<{ userNs: number; systemNs: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ", field 3 (state) is the first; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = (field: number) => Number(fields[field - 3]) * (1e9 / USER_HZ);
    return { userNs: ticks(14), systemNs: ticks(15) };
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

/** The state letter of /proc/<pid>/stat (R, S, D, T for stopped, Z, ...), or null when it is gone. */
export async function processState(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return null;
  }
}

/** The value of one variable in the environment a process was started with, if it is alive and has it. */
export async function environmentValue(pid: number, name: string): Promise<string | undefined> {
  let raw: string;
  try {
    raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  const entry = raw.split('\0').find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/**
 * Every live process whose starting environment sets `name` to a value that starts with `prefix`: the way
 * to find processes that were tagged at spawn, whatever happened to the records of them since.
 */
export async function processesTagged(name: string, prefix: string): Promise<Array<{ pid: number; value: string }>> {
  const found: Array<{ pid: number; value: string }> = [];
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const value = await environmentValue(pid, name);
      if (value !== undefined && value.startsWith(prefix) && (await isAlive(pid))) found.push({ pid, value });
    }),
  );
  return found;
}

/** The real uid of a process, or null when it is gone. */
export async function processUid(pid: number): Promise<number | null> {
  try {
    const uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
    return uid === undefined ? null : Number(uid);
  } catch {
    return null;
  }
}

/** The real uids of every process, for choosing one no process has. */
export async function uidsInUse(): Promise<Set<number>> {
  const uids = new Set<number>();
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (uid !== undefined) uids.add(Number(uid));
      } catch {
        // Gone meanwhile.
      }
    }),
  );
  return uids;
}

/** Sends SIGKILL (a pid already gone is fine) and waits until the process is gone. */
export async function killAndWait(pid: number, timeoutMs = 5_000): Promise<boolean> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone between the check and the kill.
  }
  return waitUntilGone(pid, timeoutMs);
}
