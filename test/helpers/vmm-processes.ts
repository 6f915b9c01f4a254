/** VMM processes a test started, found by the test's own directory in their command line. */
import { readdir } from 'node:fs/promises';
import { commandLine, waitUntilGone } from '../../src/vmm/process.ts';

export async function vmmsUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await commandLine(Number(entry));
    if (argv[0]?.includes('qemu') && argv.some((a) => a.includes(dir))) pids.push(Number(entry));
  }
  return pids;
}

/** The safety net after a failed test: no VM of it may outlive the run and pile up on the machine. */
export async function killVmmsUnder(dir: string): Promise<number[]> {
  const pids = await vmmsUnder(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await waitUntilGone(pid, 5_000);
  }
  return pids;
}
