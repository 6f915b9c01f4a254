/**
 * Attaching to a container's main process (`docker attach`): each run has one `AttachPoint` that fans its
 * output out to every attached client and keeps the last ATTACH_REPLAY_BYTES of it; each client holds an
 * `Attachment`, which it drops to detach (the process runs on, as Docker's does). Input goes to the process
 * only as the container allows: stdin with `stdin_open`, a window size with `tty`; otherwise it is refused
 * with an error (InvalidArgument) the client can show, and the session goes on.
 *
 * The logs record the output independently of attach (the run writes them), so what an attached client sees
 * is also in GET /logs. The replayed output (`logs` when attaching, as Docker's `--logs`) is the bytes as the
 * process wrote them, kept in memory: after a manager restart it starts empty.
 * @module
 */
import { EventEmitter } from 'node:events';
import { invalidArgument } from '../errors.ts';
import type { OutputChunk, Sandbox } from '../sandbox/sandbox.ts';

/** Output kept per run for a client that attaches with `logs`: the last 64 KiB (a few screens of a terminal). */
export const ATTACH_REPLAY_BYTES = 64 * 1024;

export interface AttachEvents {
  output: [OutputChunk];
  /** The main process ended (null: the VM ended without an exit status). */
  exit: [number | null];
}

/** One run's output, its recent past and its end, for every client attached to it. */
export class AttachPoint extends EventEmitter<AttachEvents> {
  private recent: OutputChunk[] = [];
  private recentBytes = 0;
  /** Set once the process ended. */
  ended = false;
  exitCode: number | null = null;
  private markRunning!: () => void;
  /** Resolves once the process runs (its stdin takes input from then on), or ended. */
  readonly running: Promise<void> = new Promise((resolve) => (this.markRunning = resolve));

  constructor(readonly sandbox: Sandbox) {
    super();
    this.setMaxListeners(0); // clients come and go
    sandbox.once('started', () => this.markRunning());
    sandbox.on('output', (chunk) => this.onOutput(chunk));
    sandbox.on('exit', (exit) => this.end(exit.code));
    sandbox.on('gone', () => this.end(null));
  }

  /** The output kept (at most ATTACH_REPLAY_BYTES, whole chunks but the oldest, which may be cut). */
  replay(): OutputChunk[] {
    return [...this.recent];
  }

  /** A VM adopted after a manager restart: its process already runs. */
  adopted(): void {
    this.markRunning();
  }

  private onOutput(chunk: OutputChunk): void {
    this.recent.push(chunk);
    this.recentBytes += chunk.data.length;
    while (this.recentBytes > ATTACH_REPLAY_BYTES) {
      const first = this.recent[0]!;
      const over = this.recentBytes - ATTACH_REPLAY_BYTES;
      if (first.data.length <= over) {
        this.recent.shift();
        this.recentBytes -= first.data.length;
      } else {
        this.recent[0] = { ...first, data: first.data.subarray(over) };
        this.recentBytes -= over;
      }
    }
    this.emit('output', chunk);
  }

  private end(code: number | null): void {
    if (this.ended) return;
    this.ended = true;
    this.exitCode = code;
    this.markRunning();
    this.emit('exit', code);
  }
}

/** What the containers layer announces to its parts: a deletion, and each run's new attach point. */
export interface ContainerNotices {
  removed: [containerId: string];
  'attach-point': [containerId: string, point: AttachPoint];
}

/**
 * One client's attachment: what it may send, and the process's output and end until it detaches. Made with
 * the point of the run in progress, or with none (Docker's attach before start, as `docker run` does it):
 * then it is bound to the point of the container's next run the moment that point exists, before the
 * process can write anything, so none of its output is missed; or it ends unbound if the container's run
 * ends or the container goes without one (`endUnbound`).
 */
export class Attachment {
  private readonly listeners: Array<() => void> = [];
  private point: AttachPoint | undefined;
  private handlers?: { onOutput: (chunk: OutputChunk) => void; onExit: (code: number | null) => void };
  private size?: [rows: number, cols: number];
  private endedUnbound = false;
  private settle!: () => void;
  /** Resolves once the attachment's process runs (or it ended without one): stdin may be written from then on. */
  readonly bound: Promise<void> = new Promise((resolve) => (this.settle = resolve));

  constructor(
    point: AttachPoint | undefined,
    readonly containerName: string,
    readonly tty: boolean,
    readonly stdinOpen: boolean,
  ) {
    if (point) this.bind(point);
  }

  /** Binds a waiting attachment to the run's point (once). */
  bind(point: AttachPoint): void {
    if (this.point || this.endedUnbound) return;
    this.point = point;
    if (this.handlers) this.hook(this.handlers.onOutput, this.handlers.onExit);
    if (this.size && this.tty) point.sandbox.resize(...this.size);
    void point.running.then(() => {
      if (this.size && this.tty && !point.ended) point.sandbox.resize(...this.size);
      this.settle();
    });
  }

  /** A waiting attachment's container ended its run, or went, with no process to bind to. */
  endUnbound(code: number | null): void {
    if (this.point || this.endedUnbound) return;
    this.endedUnbound = true;
    this.handlers?.onExit(code);
    this.settle();
  }

  /** Output from now on, and the exit (at once if the process already ended). */
  subscribe(onOutput: (chunk: OutputChunk) => void, onExit: (code: number | null) => void): void {
    this.handlers = { onOutput, onExit };
    if (this.point) this.hook(onOutput, onExit);
  }

  private hook(onOutput: (chunk: OutputChunk) => void, onExit: (code: number | null) => void): void {
    const point = this.point!;
    point.on('output', onOutput);
    point.once('exit', onExit);
    this.listeners.push(
      () => point.off('output', onOutput),
      () => point.off('exit', onExit),
    );
    if (point.ended) onExit(point.exitCode);
  }

  /** The recent output (`logs`), oldest first; nothing before the process runs. */
  replay(): OutputChunk[] {
    return this.point?.replay() ?? [];
  }

  /** Bytes for the process's stdin; refused unless the container has `stdin_open` (dropped before it runs). */
  write(data: Buffer): void {
    if (!this.stdinOpen) {
      throw invalidArgument(
        'HEARTH_ERR_STDIN_NOT_OPEN',
        `container ${this.containerName} was created without stdin_open: its process has no stdin to write to (input dropped)`,
      );
    }
    this.point?.sandbox.writeStdin(data);
  }

  /** End of stdin (the process reads EOF); with a tty ignored (send ^D). Refused without `stdin_open`. */
  endStdin(): void {
    if (!this.stdinOpen) {
      throw invalidArgument('HEARTH_ERR_STDIN_NOT_OPEN', `container ${this.containerName} was created without stdin_open: its process has no stdin to end`);
    }
    this.point?.sandbox.endStdin();
  }

  /** The terminal's window size (kept for the process if it does not run yet); refused unless the container has `tty`. */
  resize(rows: number, cols: number): void {
    if (!this.tty) {
      throw invalidArgument('HEARTH_ERR_NO_TTY', `container ${this.containerName} was created without tty: there is no terminal to resize`);
    }
    this.size = [rows, cols];
    this.point?.sandbox.resize(rows, cols);
  }

  /** Called on detach (what a waiting attachment listens to). */
  onDetach(off: () => void): void {
    this.listeners.push(off);
  }

  /** Stops listening; the process goes on. */
  detach(): void {
    this.endedUnbound = !this.point;
    for (const off of this.listeners.splice(0)) off();
    this.settle();
  }
}
