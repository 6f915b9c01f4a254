/**
 * `hearth stats [--no-stream] [--json] [CONTAINER...]`: CPU, memory, network, block I/O and processes of
 * running containers, as `docker stats` shows them. CPU % is the container's CPU time over the guest's
 * (every vCPU, busy and idle) between two readings, times its CPUs: one busy vCPU is 100%. Readings come
 * from the API's stream (one a second per container); on a terminal the table is redrawn in place.
 * @module
 */
import { CliError, type Client } from '../client.ts';
import { findContainer, listContainers, type ContainerItem } from '../containers.ts';
import { asJson, binarySize, humanSize } from '../format.ts';
import { formatTable } from '../table.ts';
import { shortId } from './containers.ts';

interface Reading {
  read: string;
  cpu: { usage_ns: number | null; guest_total_ns: number | null; online_cpus: number | null };
  memory: { usage_bytes: number | null; limit_bytes: number | null; inactive_file_bytes: number | null };
  network: { rx_bytes: number; tx_bytes: number } | null;
  block_io: { read_bytes: number; write_bytes: number }[];
  pids: { current: number | null };
}

export interface Figures {
  id: string;
  name: string;
  cpu_percent: number | null;
  memory_usage_bytes: number | null;
  memory_limit_bytes: number | null;
  memory_percent: number | null;
  network_rx_bytes: number | null;
  network_tx_bytes: number | null;
  block_read_bytes: number;
  block_write_bytes: number;
  pids: number | null;
}

/** The figures of the latest reading, with the CPU share since the one before (null with only one). */
export function figures(c: { id: string; name: string }, last: Reading, before?: Reading): Figures {
  const du = (last.cpu.usage_ns ?? 0) - (before?.cpu.usage_ns ?? 0);
  const dt = (last.cpu.guest_total_ns ?? 0) - (before?.cpu.guest_total_ns ?? 0);
  const cpu = before && dt > 0 ? (du / dt) * (last.cpu.online_cpus ?? 1) * 100 : null;
  const used = last.memory.usage_bytes === null ? null : last.memory.usage_bytes - (last.memory.inactive_file_bytes ?? 0);
  const limit = last.memory.limit_bytes;
  return {
    id: c.id,
    name: c.name,
    cpu_percent: cpu,
    memory_usage_bytes: used,
    memory_limit_bytes: limit,
    memory_percent: used !== null && limit ? (used / limit) * 100 : null,
    network_rx_bytes: last.network?.rx_bytes ?? null,
    network_tx_bytes: last.network?.tx_bytes ?? null,
    block_read_bytes: last.block_io.reduce((a, b) => a + b.read_bytes, 0),
    block_write_bytes: last.block_io.reduce((a, b) => a + b.write_bytes, 0),
    pids: last.pids.current,
  };
}

const pct = (n: number | null) => (n === null ? '--' : `${n.toFixed(2)}%`);

export function statsTable(rows: Figures[]): string {
  return formatTable(
    ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
    rows.map((f) => [
      shortId(f),
      f.name,
      pct(f.cpu_percent),
      `${binarySize(f.memory_usage_bytes)} / ${binarySize(f.memory_limit_bytes)}`,
      pct(f.memory_percent),
      `${humanSize(f.network_rx_bytes)} / ${humanSize(f.network_tx_bytes)}`,
      `${humanSize(f.block_read_bytes)} / ${humanSize(f.block_write_bytes)}`,
      String(f.pids ?? '--'),
    ]),
  );
}

export async function stats(client: Client, refs: string[], opts: { stream?: boolean; json?: boolean }): Promise<number> {
  const targets: ContainerItem[] =
    refs.length > 0 ? await Promise.all(refs.map((r) => findContainer(client, r))) : (await listContainers(client)).filter((c) => c.state === 'running');
  const stopped = targets.find((c) => c.state !== 'running');
  if (stopped) throw new CliError(`${stopped.name} is ${stopped.state}: stats are read from a running container`);
  const once = opts.stream === false;
  const readings = new Map<string, Reading[]>(targets.map((c) => [c.id, []]));
  const abort = new AbortController();
  const tty = process.stdout.isTTY && !opts.json;
  const show = () => {
    const rows = targets.map((c) => {
      const [before, last] = readings.get(c.id)!.slice(-2);
      return last === undefined ? undefined : before === undefined ? figures(c, last) : figures(c, last, before);
    }).filter((f): f is Figures => f !== undefined);
    if (opts.json) process.stdout.write(once ? asJson(rows) : rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    else process.stdout.write(`${tty && !once ? '\x1b[2J\x1b[H' : ''}${statsTable(rows)}`);
  };
  // Once: until each container has two readings (for its CPU share). Streaming: the table every second, of
  // the latest readings, until every container stopped (each stream ends with its container's run).
  const ready = () => [...readings.values()].every((r) => r.length >= 2);
  const follow = async (c: ContainerItem) => {
    try {
      for await (const r of client.ndjson<Reading>('GET', `/v1/containers/${c.id}/stats`, { query: { stream: true }, signal: abort.signal })) {
        readings.get(c.id)!.push(r);
        readings.get(c.id)!.splice(0, readings.get(c.id)!.length - 2);
        if (once && ready()) abort.abort();
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    }
  };
  const timer = once ? undefined : setInterval(() => [...readings.values()].some((r) => r.length > 0) && show(), 1000);
  try {
    await Promise.all(targets.map(follow));
  } finally {
    clearInterval(timer);
  }
  if (once || targets.length === 0) show();
  return 0;
}
