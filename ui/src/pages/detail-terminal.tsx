/**
 * A shell in the container: an exec with a tty (POST /v1/containers/{id}/exec) attached over the WebSocket
 * (/v1/exec/{exec}/attach: binary frames `<stream byte><bytes>`, JSON text frames for resize and exit), drawn by
 * xterm; the terminal follows the page's size and tells the exec its new one. xterm is most of the UI's code,
 * so it is loaded when a terminal is first opened (its own chunk), not with the first page.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, enc, openSocket } from '../api';
import type { Container } from '../types';

const STDIN = 0;

export function TerminalTab({ c }: { c: Container }) {
  const box = useRef<HTMLDivElement>(null);
  const [command, setCommand] = useState('/bin/sh');
  const [sessionCount, setSessionCount] = useState(0);
  const [status, setStatus] = useState('');

  useEffect(() => {
    if (c.state !== 'running') return;
    let closed = false;
    let cleanup = () => {};
    setStatus('loading');
    Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]).then(([{ Terminal }, { FitAddon }]) => {
      if (!closed) cleanup = session(new Terminal({ cursorBlink: true, fontSize: 14, theme: { background: '#0b0f14' } }), new FitAddon());
    }, (e) => setStatus(`error: ${(e as Error).message}`));
    return () => {
      closed = true;
      cleanup();
    };
  }, [c.id, c.state === 'running', sessionCount]);

  /** Runs one shell in `term`; answers what ends it. */
  function session(term: import('@xterm/xterm').Terminal, fit: import('@xterm/addon-fit').FitAddon): () => void {
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    let ws: WebSocket | undefined;
    let closed = false;
    const encoder = new TextEncoder();
    const send = (bytes: Uint8Array) => {
      if (ws?.readyState !== WebSocket.OPEN) return;
      const frame = new Uint8Array(bytes.length + 1);
      frame[0] = STDIN;
      frame.set(bytes, 1);
      ws.send(frame);
    };
    const start = async () => {
      setStatus('starting');
      const { id } = await call<{ id: string }>('POST', `/v1/containers/${c.id}/exec`, { cmd: command.split(' ').filter(Boolean), tty: true, stdin: true });
      if (closed) return;
      ws = openSocket(`/v1/exec/${enc(id)}/attach?rows=${term.rows}&cols=${term.cols}`);
      ws.onopen = () => {
        setStatus('connected');
        term.focus();
      };
      ws.onmessage = (m) => {
        if (typeof m.data === 'string') {
          const msg = JSON.parse(m.data) as { exit?: number | null; error?: { message: string } };
          if ('exit' in msg) setStatus(`exited with ${msg.exit}`);
          if (msg.error) setStatus(`error: ${msg.error.message}`);
          return;
        }
        const data = new Uint8Array(m.data as ArrayBuffer);
        term.write(data.subarray(1));
      };
      ws.onclose = () => setStatus((s) => (s === 'connected' ? 'disconnected' : s));
    };
    const input = term.onData((d) => send(encoder.encode(d)));
    const resized = term.onResize(({ rows, cols }) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ resize: { rows, cols } }));
    });
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current!);
    start().catch((e) => setStatus(`error: ${(e as Error).message}`));
    return () => {
      closed = true;
      observer.disconnect();
      input.dispose();
      resized.dispose();
      ws?.close();
      term.dispose();
    };
  }

  if (c.state !== 'running') return <p class="empty">A shell needs a running container; this one is {c.state}.</p>;
  return (
    <div class="terminal">
      <form class="filters" onSubmit={(e) => (e.preventDefault(), setSessionCount((n) => n + 1))}>
        <label>
          <span class="label">Command</span>
          <input name="terminal-command" value={command} onInput={(e) => setCommand(e.currentTarget.value)} />
        </label>
        <button type="submit">New session</button>
        <span class="hint" role="status" data-testid="terminal-status">
          {status}
        </span>
      </form>
      <div class="xterm-box" ref={box} aria-label="Terminal" />
    </div>
  );
}
