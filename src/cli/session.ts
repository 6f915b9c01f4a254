/**
 * Joins the local terminal to a process in a container over the API's attach WebSocket (an exec's or the
 * container's main process's, one protocol): output to stdout and stderr, stdin (when asked) to the process,
 * and with a tty the local terminal in raw mode and its size followed (SIGWINCH). The terminal is restored on
 * every way out: the process's exit, a lost connection, an error, or a signal to the CLI.
 * @module
 */
import type WebSocket from 'ws';
import { CliError } from './client.ts';

export interface SessionOptions {
  /** Forward local stdin to the process (`-i`). */
  stdin: boolean;
  /** The process has a terminal (`-t`): put the local one in raw mode and forward its size. */
  tty: boolean;
}

/** The local terminal's size, for the attach's `rows`/`cols` query. */
export function terminalSize(): { rows: number; cols: number } | undefined {
  const { rows, columns } = process.stdout;
  return process.stdout.isTTY && rows > 0 && columns > 0 ? { rows, cols: columns } : undefined;
}

/**
 * Resolves with the process's exit code (null if its VM ended first) once the server says it ended. `ws`
 * comes paused (Client.websocket) and is resumed once every listener is in place.
 */
export function runSession(ws: WebSocket, opts: SessionOptions): Promise<number | null> {
  const stdin = process.stdin;
  // Raw only when the keys go to the process: else Ctrl-C must stay a signal to the CLI.
  const raw = opts.tty && opts.stdin && stdin.isTTY;
  const cleanups: (() => void)[] = [];
  const cleanup = () => {
    for (const undo of cleanups.splice(0).reverse()) undo();
  };
  if (raw) {
    stdin.setRawMode(true);
    cleanups.push(() => stdin.setRawMode(false));
  }
  // Whatever ends the CLI, the terminal goes back to how it was (process.exit and uncaught errors run this).
  process.once('exit', cleanup);
  cleanups.push(() => process.removeListener('exit', cleanup));

  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  if (opts.tty && process.stdout.isTTY) {
    const resize = () => {
      const size = terminalSize();
      if (size) send({ resize: size });
    };
    process.on('SIGWINCH', resize);
    cleanups.push(() => process.removeListener('SIGWINCH', resize));
  }
  // Without a raw terminal, Ctrl-C and a TERM reach the CLI as signals: pass them on, as docker's sig-proxy
  // does; a third Ctrl-C leaves the process to itself. In raw mode Ctrl-C is a byte the process's own
  // terminal turns into SIGINT.
  let interrupts = 0;
  let detached = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const forward = () => {
      send({ signal });
      if (signal === 'SIGINT' && ++interrupts === 3) {
        detached = true;
        ws.terminate();
      }
    };
    process.on(signal, forward);
    cleanups.push(() => process.removeListener(signal, forward));
  }
  if (opts.stdin) {
    const onData = (b: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([0]), b]));
    };
    const onEnd = () => send({ eof: true });
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    cleanups.push(() => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.pause();
      stdin.destroy();
    });
  }

  return new Promise<number | null>((resolve, reject) => {
    let exit: { code: number | null } | undefined;
    let failure: string | undefined;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const out = data[0] === 2 ? process.stderr : process.stdout;
        out.write(data.subarray(1));
        return;
      }
      let message: { exit?: number | null; error?: { code: string; message: string } };
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        return; // not one of the protocol's messages: nothing to act on
      }
      if ('exit' in message) exit = { code: message.exit ?? null };
      else if (message.error) failure = message.error.message;
    });
    ws.once('close', () => {
      cleanup();
      if (exit) resolve(exit.code);
      else if (detached) reject(new CliError('left after three interrupts: the process goes on', 130));
      else reject(new CliError(failure ?? 'the connection to the manager closed before the process ended'));
    });
    ws.once('error', (e) => {
      failure ??= `the connection to the manager failed: ${e.message}`;
    });
    ws.resume();
  });
}
