/** Samples a process's peak resident memory (VmHWM) until told to stop or the process is gone. */
import { readFile } from 'node:fs/promises';

export function peakRss(pid: number, intervalMs = 20): { stop(): Promise<number> } {
  let peak = 0;
  const sample = async () => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match) peak = Math.max(peak, Number(match[1]) * 1024);
  };
  const timer = setInterval(() => void sample(), intervalMs);
  void sample();
  return {
    async stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
