/**
 * A container's logs, followed live (NDJSON from `logs?follow=true`; followed again from the start of each new
 * run), with stdout/stderr filter, search, timestamps and a download of the whole log as text.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { getRaw, streamLines } from '../api';
import type { Container } from '../types';

interface Line {
  timestamp: string;
  stream: 'stdout' | 'stderr';
  message: string;
}

/** Lines kept in the page; the download has them all. */
const KEEP = 5000;

export function LogsTab({ c }: { c: Container }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [stream, setStream] = useState('');
  const [search, setSearch] = useState('');
  const [timestamps, setTimestamps] = useState(false);
  const [follow, setFollow] = useState(true);
  const [error, setError] = useState('');
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const stop = new AbortController();
    let buffer: Line[] = [];
    let queued = false;
    setLines([]);
    // Lines come in bursts: one render per frame.
    const flush = () => {
      queued = false;
      const add = buffer;
      buffer = [];
      setLines((old) => [...old, ...add].slice(-KEEP));
    };
    streamLines<Line>('GET', `/v1/containers/${c.id}/logs?follow=true&tail=${KEEP}`, (l) => {
      buffer.push(l);
      if (!queued) (queued = true), requestAnimationFrame(flush);
    }, stop.signal).catch((e) => setError((e as Error).message));
    return () => stop.abort();
  }, [c.id, c.started_at]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  const download = async () => {
    try {
      const r = await getRaw(`/v1/containers/${c.id}/logs?format=text&timestamps=true`, 'text/plain');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(await r.blob());
      a.download = `${c.name}.log`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const needle = search.toLowerCase();
  const shown = lines.filter((l) => (!stream || l.stream === stream) && (!needle || l.message.toLowerCase().includes(needle)));
  return (
    <div class="logs">
      <div class="filters">
        <label>
          <span class="label">Stream</span>
          <select name="log-stream" value={stream} onChange={(e) => setStream(e.currentTarget.value)}>
            <option value="">stdout and stderr</option>
            <option value="stdout">stdout</option>
            <option value="stderr">stderr</option>
          </select>
        </label>
        <label>
          <span class="label">Search</span>
          <input type="search" name="log-search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" name="log-timestamps" checked={timestamps} onChange={(e) => setTimestamps(e.currentTarget.checked)} /> Timestamps
        </label>
        <label class="check">
          <input type="checkbox" name="log-follow" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
        <button type="button" onClick={download}>Download</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <pre class="log-lines" ref={box} tabIndex={0} aria-label="Log lines" aria-live="off">
        {shown.map((l) => (
          <div class={`log-${l.stream}`}>
            {timestamps && <span class="ts">{l.timestamp} </span>}
            {l.message}
          </div>
        ))}
      </pre>
      <p class="hint">
        {shown.length} of {lines.length} lines
      </p>
    </div>
  );
}
