/** VMM processes a test started, found by the run-directory tag every VMM carries in its environment. */
import { RUN_DIR_TAG } from '../../src/vmm/qemu/vmm-identity.ts';
import { processesTagged, waitUntilGone } from '../../src/vmm/process.ts';

export async function vmmsUnder(dir: string): Promise<number[]> {
  return (await processesTagged(RUN_DIR_TAG, dir)).map((p) => p.pid);
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
