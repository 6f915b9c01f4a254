/**
 * A container: overview (settings, state history from its events and live ones, guest IP, exit code, error,
 * health), logs, stats, terminal and inspect (the raw item), as tabs at `#/containers/{id}/{tab}`.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, enc } from '../api';
import { useContainers, useEvents, useNow } from '../live';
import { Actions, useContainerActions } from '../parts/actions';
import { duration, portUrl, time } from '../parts/format';
import type { Container, HearthEvent } from '../types';
import { LogsTab } from './detail-logs';
import { StatsTab } from './detail-stats';
import { TerminalTab } from './detail-terminal';

const TABS = ['overview', 'logs', 'stats', 'terminal', 'inspect'] as const;

export function DetailPage({ id, tab }: { id: string; tab: string }) {
  const { containers, loaded } = useContainers();
  const c = containers.find((x) => x.id === id);
  const { act, error, dialog } = useContainerActions(() => (location.hash = '#/containers'));
  
  if (!c) return <p class="empty">{loaded ? 'No such container (deleted?).' : 'Loading…'}</p>;
  const current = (TABS as readonly string[]).includes(tab) ? tab : 'overview';
  return (
    <section>
      <header class="page-head">
        <h1>
          {c.name} <span class={`state state-${c.state}`} data-testid="detail-state">{c.state}</span>
        </h1>
        <div class="actions">
          <Actions c={c} act={act} />
        </div>
      </header>
      {error && <p class="error" role="alert">{error}</p>}
      <nav class="tabs" aria-label="Container sections">
        {TABS.map((t) => (
          <a href={`#/containers/${id}/${t}`} aria-current={t === current ? 'page' : undefined}>
            {t}
          </a>
        ))}
      </nav>
      {current === 'overview' && <Overview c={c} />}
      {current === 'logs' && <LogsTab c={c} />}
      {current === 'stats' && <StatsTab c={c} />}
      {current === 'terminal' && <TerminalTab c={c} />}
      {current === 'inspect' && <pre class="inspect" tabIndex={0} aria-label="The container as JSON">{JSON.stringify(c, null, 2)}</pre>}
      {dialog}
    </section>
  );
}

function Overview({ c }: { c: Container }) {
  const now = useNow();
  const [history, setHistory] = useState<HearthEvent[]>([]);
  useEffect(() => {
    call<{ items: HearthEvent[] }>('GET', `/v1/containers/${enc(c.id)}/events`).then((r) => setHistory(r.items), () => setHistory([]));
  }, [c.id]);
  useEvents((e) => {
    if (e.container_id !== c.id || e.type === 'pull') return;
    // The first read and the stream may both hold an event written in between.
    setHistory((h) => (h.some((x) => x.time === e.time && x.type === e.type && x.to_state === e.to_state) ? h : [...h, e]));
  }, [c.id]);
  const rows: Array<[string, unknown]> = [
    ['Id', c.id],
    ['Image', c.image + (c.image_digest ? ` (${c.image_digest.slice(0, 19)})` : '')],
    ['Command', c.args.join(' ') || '(the image\'s)'],
    ['Guest IP', c.guest_ip ?? '–'],
    ['Ports', c.port_mappings.length ? c.port_mappings.map((p) => <a class="port" href={portUrl(p)} target="_blank" rel="noreferrer">{p.host_port}→{p.container_port}/{p.protocol}</a>) : '–'],
    ['Uptime', c.state === 'running' && c.started_at ? duration(now - Date.parse(c.started_at)) : '–'],
    ['Exit code', c.exit_code ?? '–'],
    ['Error', c.error_message ?? '–'],
    ['OOM killed', c.oom_killed ? 'yes' : 'no'],
    ['Health', c.health ? `${c.health.status} (failing streak ${c.health.failing_streak})` : 'no check'],
    ['Restart policy', `${c.restart_policy} (restarts: ${c.restart_count})`],
    ['Limits', `${c.cpus ?? 'default'} CPUs, ${c.memory_mib ?? 'default'} MiB`],
    ['Volumes', c.volumes.map((v) => `${v.name ?? v.host_path ?? 'anonymous'} → ${v.container_path}${v.readonly ? ' (ro)' : ''}`).join(', ') || '–'],
    ['Environment', Object.keys(c.env_vars).join(', ') || '–'],
    ['Created', time(c.created_at)],
  ];
  return (
    <div class="overview">
      <dl class="facts">
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd data-fact={k}>{v as string}</dd>
          </>
        ))}
      </dl>
      {c.health && c.health.log.length > 0 && (
        <>
          <h2>Last health checks</h2>
          <ul class="plain">
            {c.health.log.map((l) => (
              <li>
                {time(l.end)}: exit {l.exit_code} {l.output && <code>{l.output.slice(0, 200)}</code>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>State history</h2>
      <ol class="history" aria-label="State history">
        {history.filter((e) => e.type !== 'pull').slice(-50).reverse().map((e) => (
          <li>
            <time>{time(e.time)}</time> {e.type === 'state' ? `${e.from_state ?? '–'} → ${e.to_state}` : e.type}
            {e.exit_code != null && ` (exit ${e.exit_code})`}
            {e.health_status && ` ${e.health_status}`}
            {e.message && <span class="hint"> {e.message}</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}
