/**
 * Container output on disk: `<dir>/<container id>/output.ndjson`, one JSON object per line
 * `{"t": ISO time, "s": "stdout"|"stderr", "m": line without its newline}`. When the file would pass
 * `maxBytes` it becomes `output.ndjson.1` (replacing the older one) and a new file starts, so a container
 * keeps at most twice `maxBytes`. Files outlive the manager; followers get each line as it is written.
 * Writes are synchronous and so are reads, which is what makes "read the backlog, then follow" gap-free.
 * @module
 */
import { EventEmitter } from 'node:events';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputChunk, OutputStream } from '../sandbox/sandbox.ts';

export interface LogEntry {
  timestamp: string;
  stream: OutputStream;
  /** The line without its end: `\n`, or `\r\n` as a terminal writes it. */
  message: string;
  /** The line ended `\r\n` (a TTY's output): Docker's logs give those bytes back as they were. */
  crlf?: true;
}

export interface LogQuery {
  stream?: OutputStream;
  /** Entries at or after this time. */
  since?: Date;
  /** Only the last n entries (after the other filters). */
  tail?: number;
}

interface OpenFile {
  fd: number;
  size: number;
}

const FILE = 'output.ndjson';

export class LogStore {
  private readonly files = new Map<string, OpenFile>();
  private readonly live = new EventEmitter();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    this.live.setMaxListeners(0);
  }

  /** Records a chunk of output, one entry per line. */
  append(containerId: string, chunk: OutputChunk): void {
    const text = chunk.data.toString('utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const timestamp = chunk.timestamp.toISOString();
    for (const line of lines) {
      const crlf = line.endsWith('\r');
      const entry: LogEntry = { timestamp, stream: chunk.stream, message: crlf ? line.slice(0, -1) : line, ...(crlf ? { crlf } : {}) };
      this.write(containerId, JSON.stringify({ t: entry.timestamp, s: entry.stream, m: entry.message, ...(crlf ? { c: 1 } : {}) }) + '\n');
      this.live.emit(containerId, entry);
    }
  }

  read(containerId: string, q: LogQuery = {}): LogEntry[] {
    const out: LogEntry[] = [];
    for (const name of [`${FILE}.1`, FILE]) {
      let text: string;
      try {
        text = readFileSync(join(this.dir, containerId, name), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        let raw: { t: string; s: OutputStream; m: string; c?: 1 };
        try {
          raw = JSON.parse(line);
        } catch {
          continue; // a line cut short by a crash
        }
        const entry: LogEntry = { timestamp: raw.t, stream: raw.s, message: raw.m, ...(raw.c === 1 ? { crlf: true as const } : {}) };
        if (matches(entry, q)) out.push(entry);
      }
    }
    return q.tail === undefined ? out : q.tail === 0 ? [] : out.slice(-q.tail);
  }

  /**
   * Calls `onEntry` for each new entry that matches `q` (ignoring `tail`) and `onEnd` once `end(containerId)`
   * is called. Returns the unsubscribe function.
   */
  follow(containerId: string, q: LogQuery, onEntry: (e: LogEntry) => void, onEnd: () => void): () => void {
    const entry = (e: LogEntry) => {
      if (matches(e, q)) onEntry(e);
    };
    const endKey = `end:${containerId}`;
    const end = () => {
      off();
      onEnd();
    };
    const off = () => {
      this.live.off(containerId, entry);
      this.live.off(endKey, end);
    };
    this.live.on(containerId, entry);
    this.live.on(endKey, end);
    return off;
  }

  /** Ends every follower of the container (its process is over). */
  end(containerId: string): void {
    this.live.emit(`end:${containerId}`);
  }

  /** Ends every follower of every container (shutdown). */
  endAll(): void {
    for (const name of this.live.eventNames()) {
      if (typeof name === 'string' && name.startsWith('end:')) this.live.emit(name);
    }
  }

  /** Ids of the containers that have a directory here, to find those no container owns any more. */
  list(): string[] {
    try {
      return readdirSync(this.dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Ends followers and deletes the container's files. */
  remove(containerId: string): void {
    this.end(containerId);
    this.closeFile(containerId);
    rmSync(join(this.dir, containerId), { recursive: true, force: true });
  }

  close(): void {
    for (const id of [...this.files.keys()]) this.closeFile(id);
  }

  private write(containerId: string, line: string): void {
    const bytes = Buffer.byteLength(line);
    let f = this.open(containerId);
    if (f.size > 0 && f.size + bytes > this.maxBytes) {
      this.closeFile(containerId);
      const base = join(this.dir, containerId, FILE);
      renameSync(base, `${base}.1`);
      f = this.open(containerId);
    }
    writeSync(f.fd, line);
    f.size += bytes;
  }

  private open(containerId: string): OpenFile {
    let f = this.files.get(containerId);
    if (!f) {
      // A container's output is its own business, whatever the umask.
      mkdirSync(join(this.dir, containerId), { recursive: true, mode: 0o700 });
      const fd = openSync(join(this.dir, containerId, FILE), 'a', 0o600);
      f = { fd, size: fstatSync(fd).size };
      this.files.set(containerId, f);
    }
    return f;
  }

  private closeFile(containerId: string): void {
    const f = this.files.get(containerId);
    if (f) {
      this.files.delete(containerId);
      closeSync(f.fd);
    }
  }
}

function matches(e: LogEntry, q: LogQuery): boolean {
  if (q.stream && e.stream !== q.stream) return false;
  if (q.since && Date.parse(e.timestamp) < q.since.getTime()) return false;
  return true;
}
