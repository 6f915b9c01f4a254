/**
 * A container's usage, live: the stats stream (a reading a second, `stats?stream=true`) as charts of CPU,
 * memory, network and disk rates over the last few minutes.
 */
import { useEffect, useState } from 'preact/hooks';
import { streamLines } from '../api';
import { Chart } from '../parts/chart';
import { bytes } from '../parts/format';
import type { Container, Stats } from '../types';

const WINDOW = 180;

interface Series {
  t: number[];
  cpu: number[];
  hostCpu: number[];
  mem: number[];
  hostMem: number[];
  rx: number[];
  tx: number[];
  read: number[];
  write: number[];
}
const empty = (): Series => ({ t: [], cpu: [], hostCpu: [], mem: [], hostMem: [], rx: [], tx: [], read: [], write: [] });

export function StatsTab({ c }: { c: Container }) {
  const [s, setS] = useState<Series>(empty);
  const [error, setError] = useState('');
  useEffect(() => {
    if (c.state !== 'running') return;
    const stop = new AbortController();
    let prev: Stats | undefined;
    setS(empty());
    streamLines<Stats>('GET', `/v1/containers/${c.id}/stats?stream=true`, (r) => {
      const p = prev;
      prev = r;
      if (!p) return;
      const dt = (Date.parse(r.read) - Date.parse(p.read)) / 1000;
      if (dt <= 0) return;
      const rate = (a: number, b: number) => Math.max(0, (a - b) / dt);
      const disk = (x: Stats, k: 'read_bytes' | 'write_bytes') => x.block_io.reduce((n, d) => n + d[k], 0);
      setS((old) => {
        const push = (arr: number[], v: number) => [...arr, v].slice(-WINDOW);
        return {
          t: push(old.t, Date.parse(r.read) / 1000),
          cpu: push(old.cpu, r.cpu.usage_ns !== null && p.cpu.usage_ns !== null ? rate(r.cpu.usage_ns, p.cpu.usage_ns) / 1e7 : 0),
          hostCpu: push(old.hostCpu, rate(r.cpu.host_ns, p.cpu.host_ns) / 1e7),
          mem: push(old.mem, r.memory.usage_bytes ?? 0),
          hostMem: push(old.hostMem, r.memory.host_private_bytes),
          rx: push(old.rx, r.network && p.network ? rate(r.network.rx_bytes, p.network.rx_bytes) : 0),
          tx: push(old.tx, r.network && p.network ? rate(r.network.tx_bytes, p.network.tx_bytes) : 0),
          read: push(old.read, rate(disk(r, 'read_bytes'), disk(p, 'read_bytes'))),
          write: push(old.write, rate(disk(r, 'write_bytes'), disk(p, 'write_bytes'))),
        };
      });
    }, stop.signal).catch((e) => setError((e as Error).message));
    return () => stop.abort();
  }, [c.id, c.state, c.started_at]);

  if (c.state !== 'running') return <p class="empty">Stats are read from a running container; this one is {c.state}.</p>;
  const pct = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)}%`;
  const rate = (v: number) => `${bytes(v)}/s`;
  return (
    <div class="charts">
      {error && <p class="error" role="alert">{error}</p>}
      <p class="hint" data-testid="cpu-now">
        CPU now: {pct(s.cpu.at(-1) ?? 0)} (container), {pct(s.hostCpu.at(-1) ?? 0)} (VMM on the host) · memory {bytes(s.mem.at(-1) ?? 0)}
      </p>
      <Chart title="CPU (% of one CPU)" unit={pct} data={[s.t, s.cpu, s.hostCpu]} series={[{ label: 'container', color: '#f59e0b' }, { label: 'VMM on host', color: '#60a5fa' }]} />
      <Chart title="Memory" unit={bytes} data={[s.t, s.mem, s.hostMem]} series={[{ label: 'container', color: '#34d399' }, { label: 'VMM private', color: '#a78bfa' }]} />
      <Chart title="Network" unit={rate} data={[s.t, s.rx, s.tx]} series={[{ label: 'received', color: '#60a5fa' }, { label: 'sent', color: '#f472b6' }]} />
      <Chart title="Disk" unit={rate} data={[s.t, s.read, s.write]} series={[{ label: 'read', color: '#34d399' }, { label: 'written', color: '#f59e0b' }]} />
    </div>
  );
}
