/**
 * Containers: every container with its live state (the events stream, src/live.ts), image, ports as links,
 * uptime, and CPU and memory sparklines (from /metrics); filters by state and name; the actions, with a confirmation before a
 * delete (it loses the container's writable layer and logs).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { getRaw } from '../api';
import { useContainers, useNow } from '../live';
import { Actions, useContainerActions } from '../parts/actions';
import { bytes, duration, portUrl } from '../parts/format';
import { Sparkline } from '../parts/sparkline';
import { STATES } from '../types';

export function ContainersPage() {
  const { containers, loaded, error } = useContainers();
  const [state, setState] = useState('');
  const [name, setName] = useState('');
  const now = useNow();
  const spark = useSparkStats();
  const { act, error: actionError, dialog } = useContainerActions();
  const shown = containers
    .filter((c) => (!state || c.state === state) && c.name.toLowerCase().includes(name.toLowerCase()))
    .sort((a, b) => a.name.localeCompare(b.name));

  return (
    <section>
      <header class="page-head">
        <h1>Containers</h1>
        <a class="button primary" href="#/create">New container</a>
      </header>
      <div class="filters">
        <label>
          <span class="label">State</span>
          <select value={state} onChange={(e) => setState(e.currentTarget.value)} name="state-filter">
            <option value="">all</option>
            {STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          <span class="label">Name</span>
          <input type="search" value={name} onInput={(e) => setName(e.currentTarget.value)} name="name-filter" placeholder="filter by name" />
        </label>
      </div>
      {(error || actionError) && <p class="error" role="alert">{actionError || error}</p>}
      {!loaded ? (
        <p>Loading…</p>
      ) : shown.length === 0 ? (
        <p class="empty">{containers.length ? 'No container matches.' : 'No containers yet.'}</p>
      ) : (
        <div class="table-wrap">
          <table class="containers">
            <thead>
              <tr>
                <th>Name</th>
                <th>State</th>
                <th>Image</th>
                <th>Ports</th>
                <th>Uptime</th>
                <th>CPU</th>
                <th>Memory</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => {
                const s = spark.get(c.id);
                return (
                  <tr data-name={c.name} data-state={c.state} key={c.id}>
                    <td data-label="Name">
                      <a href={`#/containers/${c.id}`}>{c.name}</a>
                    </td>
                    <td data-label="State">
                      <span class={`state state-${c.state}`}>{c.state}</span>
                      {c.health && <span class={`health health-${c.health.status}`}>{c.health.status}</span>}
                    </td>
                    <td data-label="Image">{c.image}</td>
                    <td data-label="Ports">
                      {c.port_mappings.map((p) => (
                        <a class="port" href={portUrl(p)} target="_blank" rel="noreferrer">
                          {p.host_port}→{p.container_port}/{p.protocol}
                        </a>
                      ))}
                    </td>
                    <td data-label="Uptime">{c.state === 'running' && c.started_at ? duration(now - Date.parse(c.started_at)) : '–'}</td>
                    <td data-label="CPU">
                      {s && <Sparkline values={s.cpu} max={100} label={`CPU ${s.cpu.at(-1)?.toFixed(0) ?? 0}%`} />}
                      {s && <span class="num">{s.cpu.at(-1)?.toFixed(0) ?? 0}%</span>}
                    </td>
                    <td data-label="Memory">
                      {s && <Sparkline values={s.mem} max={s.memLimit} label={`memory ${bytes(s.mem.at(-1))}`} />}
                      {s && <span class="num">{bytes(s.mem.at(-1))}</span>}
                    </td>
                    <td data-label="Actions" class="actions">
                      <Actions c={c} act={act} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {dialog}
    </section>
  );
}

interface Spark {
  cpu: number[];
  mem: number[];
  memLimit: number;
  last?: { cpuSeconds: number; at: number };
}

const SERIES = /^hearth_container_(cpu_seconds_total|vmm_cpu_seconds_total|memory_usage_bytes|memory_limit_bytes|vmm_private_bytes)\{[^}]*id="([^"]+)"[^}]*\} (\S+)$/gm;

/**
 * Recent CPU (% of one CPU) and memory of the running containers, from the manager's /metrics every 2 s: one
 * request reads them all (a browser holds 6 connections to a host: a stats stream per row would take them), and a
 * container that stops between two readings is simply absent, not an error.
 */
function useSparkStats(): Map<string, Spark> {
  const data = useRef(new Map<string, Spark>());
  const [, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    const loop = async () => {
      while (!stopped) {
        const text = await getRaw('/metrics', 'text/plain').then((r) => r.text(), () => '');
        read(data.current, text, Date.now());
        if (!stopped) setTick((t) => t + 1);
        await new Promise((r) => setTimeout(r, 2000));
      }
    };
    void loop();
    return () => {
      stopped = true;
    };
  }, []);
  return data.current;
}

function read(all: Map<string, Spark>, text: string, at: number): void {
  const now = new Map<string, Record<string, number>>();
  for (const [, series, id, value] of text.matchAll(SERIES)) now.set(id!, { ...now.get(id!), [series!]: Number(value) });
  for (const id of all.keys()) if (!now.has(id)) all.delete(id);
  for (const [id, v] of now) {
    const spark = all.get(id) ?? { cpu: [], mem: [], memLimit: v.memory_limit_bytes ?? 0 };
    const cpuSeconds = v.cpu_seconds_total ?? v.vmm_cpu_seconds_total ?? 0;
    if (spark.last && at > spark.last.at) spark.cpu = [...spark.cpu, ((cpuSeconds - spark.last.cpuSeconds) / ((at - spark.last.at) / 1000)) * 100].slice(-30);
    spark.last = { cpuSeconds, at };
    spark.mem = [...spark.mem, v.memory_usage_bytes ?? v.vmm_private_bytes ?? 0].slice(-30);
    all.set(id, spark);
  }
}
