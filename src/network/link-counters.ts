/**
 * A network interface's traffic counters, as the kernel keeps them, from the interface's side: a tap's `rx` is
 * what its guest sent and its `tx` what the guest received. Read from /proc/net/dev, which shows the network
 * namespace of the process reading it (sysfs shows the one it was mounted in, not always the manager's).
 * @module
 */
import { readFile } from 'node:fs/promises';

export interface LinkCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * The counters of interface `name` in /proc/net/dev's text: after `name:`, receive bytes, packets, errs, drop,
 * fifo, frame, compressed, multicast, then transmit bytes, packets, errs, drop, ...; null when it is not there.
 */
export function parseNetDev(text: string, name: string): LinkCounters | null {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== name) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) return null;
    return { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! };
  }
  return null;
}

/** The counters of interface `name` in this process's network namespace; null when it does not exist. */
export async function linkCounters(name: string): Promise<LinkCounters | null> {
  return parseNetDev(await readFile('/proc/net/dev', 'utf8'), name);
}
