/**
 * Talks to the init agent of one guest over its control stream (see docs/guest-protocol.md).
 * It only translates frames to events and calls to frames; what to do with them is the sandbox's business.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { decodeProcesses, encodeExec, encodeResize } from './exec-message.ts';
import type { ExecSpec, GuestProcess, OutputChunk, ProcessExit, ProcessSpec } from './process.ts';
import { decodeRecords, encodeFrame, FrameDecoder, FrameType, MAX_PAYLOAD, RecordTag, u32, u64 } from './protocol.ts';
import type { Frame } from './protocol.ts';
import { decodeStat, type PathStat } from './copy-message.ts';
import { encodeRun, type RootfsType, type RunSetup } from './run-message.ts';
import { decodeStats, type GuestStats } from './stats-message.ts';

export type AgentState = 'waiting' | 'running' | 'exited';

export interface AgentHello {
  version: string;
  state: AgentState;
  pid: number | null;
  exitCode: number | null;
}

export interface AgentClientEvents {
  hello: [AgentHello];
  started: [{ pid: number }];
  output: [OutputChunk];
  exit: [ProcessExit];
  agentError: [{ code: number; message: string }];
  log: [string];
  /** The answer to `top()` (answers come in the order of the requests). */
  processes: [GuestProcess[]];
  /** The answer to `stats()` (in the order of the requests). */
  stats: [GuestStats];
  /** An exec session's frames (`session` is never 0). */
  sessionStarted: [{ session: number; pid: number }];
  sessionOutput: [{ session: number; chunk: OutputChunk }];
  sessionError: [{ session: number; code: number; message: string }];
  sessionExit: [{ session: number; exit: ProcessExit }];
  /** The answer to `stat()`. */
  sessionStat: [{ session: number; stat: PathStat }];
  /** The stream ended or broke; `reason` says how. */
  closed: [{ reason: string }];
}

export class AgentClient extends EventEmitter<AgentClientEvents> {
  private readonly decoder = new FrameDecoder();
  private closed = false;
  /** Frames received while held, in order. */
  private held: Frame[] | undefined;
  private greet!: () => void;
  /** Resolves when the agent's HELLO has arrived, held or not. */
  readonly greeted = new Promise<void>((resolve) => (this.greet = resolve));

  /**
   * With `hold`, frames are kept instead of dispatched until `release()`: a host adopting a running VM
   * receives the agent's backlog (output written while no host was connected, then EXIT) in the first
   * chunks, before anyone could listen for it.
   */
  constructor(
    private readonly stream: Duplex,
    options: { hold?: boolean } = {},
  ) {
    super();
    if (options.hold) this.held = [];
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('error', (e) => this.close(`control channel failed: ${e.message}`));
    stream.on('close', () => this.close('control channel closed'));
  }

  /** Dispatches the frames kept so far, then everything as it comes. */
  release(): void {
    const frames = this.held;
    this.held = undefined;
    for (const frame of frames ?? []) {
      if (!this.dispatchSafely(frame)) return;
    }
  }

  /** Sends RUN; throws HEARTH_ERR_RUN_TOO_LARGE, having sent nothing, when the process does not fit a frame. */
  run(spec: ProcessSpec, rootfsType: RootfsType, setup: Omit<RunSetup, 'clockNs'> = {}): void {
    this.send(FrameType.RUN, encodeRun(spec, rootfsType, setup));
  }

  signal(signo: number): void {
    this.send(FrameType.SIGNAL, u32(signo));
  }

  stop(signo: number, graceMs: number): void {
    this.send(FrameType.STOP, Buffer.concat([u32(signo), u32(graceMs)]));
  }

  ackExit(): void {
    this.send(FrameType.EXIT_ACK);
  }

  /** Starts an exec under `session` (non-zero, not live); throws HEARTH_ERR_EXEC_TOO_LARGE having sent nothing. */
  exec(session: number, spec: ExecSpec): void {
    this.send(FrameType.EXEC, encodeExec(spec), session);
  }

  /** Stdin for a session, in frames of at most 1 MiB. */
  stdin(session: number, data: Buffer): void {
    for (let off = 0; off < data.length; off += MAX_PAYLOAD) this.send(FrameType.STDIN, data.subarray(off, off + MAX_PAYLOAD), session);
  }

  stdinEof(session: number): void {
    this.send(FrameType.STDIN_EOF, undefined, session);
  }

  resize(session: number, rows: number, cols: number): void {
    this.send(FrameType.RESIZE, encodeResize(rows, cols), session);
  }

  /** SIGNAL to a session's command (its foreground process group with a tty). */
  signalSession(session: number, signo: number): void {
    this.send(FrameType.SIGNAL, u32(signo), session);
  }

  /** A tar of `path` as the session's OUTPUT (stream 1), its EXIT an enum copy_status (docs/guest-protocol.md). */
  copyOut(session: number, path: string): void {
    this.send(FrameType.COPY_OUT, Buffer.from(path, 'utf8'), session);
  }

  /** Extracts the tar sent as the session's STDIN (then STDIN_EOF) into the directory `dir`. */
  copyIn(session: number, dir: string): void {
    this.send(FrameType.COPY_IN, Buffer.from(dir, 'utf8'), session);
  }

  /** A path's stat; `sessionStat` or `sessionError` answers. */
  stat(session: number, path: string): void {
    this.send(FrameType.STAT, Buffer.from(path, 'utf8'), session);
  }

  /**
   * Stdin for a session, paced: resolves once the control stream has room again. The agent stops reading
   * the channel while its stdin buffers are full, so this is what keeps a large copy from piling up here.
   */
  async stdinPaced(session: number, data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += MAX_PAYLOAD) {
      if (this.closed || this.stream.destroyed) return;
      if (!this.stream.write(encodeFrame(FrameType.STDIN, data.subarray(off, off + MAX_PAYLOAD), session))) {
        await new Promise<void>((resolve) => {
          const done = () => (this.stream.off('drain', done), this.stream.off('close', done), resolve());
          this.stream.on('drain', done);
          this.stream.on('close', done);
        });
      }
    }
  }

  /** Stops reading the control stream (a reader of a copy is slow); the agent's queue then holds its output. */
  pauseInput(): void {
    this.stream.pause();
  }

  resumeInput(): void {
    if (!this.closed) this.stream.resume();
  }

  /** Asks for the guest's processes; `processes` answers. */
  top(): void {
    this.send(FrameType.TOP);
  }

  /** Asks what the container's processes use; `stats` answers. */
  stats(): void {
    this.send(FrameType.STATS);
  }

  /** Sets the guest clock to the host's (after a resume). */
  clock(nowNs = BigInt(Date.now()) * 1_000_000n): void {
    this.send(FrameType.CLOCK, u64(nowNs));
  }

  /** Whether frames can still be sent. */
  get open(): boolean {
    return !this.closed && !this.stream.destroyed;
  }

  /** Stops listening without telling the guest anything (it keeps running and waits for the next host). */
  detach(): void {
    this.closed = true;
    this.stream.destroy();
  }

  private send(type: number, payload?: Buffer, session = 0): void {
    if (this.closed || this.stream.destroyed) return;
    this.stream.write(encodeFrame(type, payload, session));
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('closed', { reason });
  }

  private receive(chunk: Buffer): void {
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail((e as Error).message);
      return;
    }
    for (const frame of frames) {
      if (frame.type === FrameType.HELLO) this.greet();
      if (this.held) this.held.push(frame);
      else if (!this.dispatchSafely(frame)) return;
    }
  }

  /**
   * A frame that does not parse ends the connection (the caller may reconnect); it never throws. A listener
   * that throws is the host's failure, not the guest's, and the reason says so.
   */
  private dispatchSafely(frame: Frame): boolean {
    const type = `0x${frame.type.toString(16)}`;
    let deliver: (() => void) | undefined;
    try {
      deliver = frame.session === 0 ? this.parse(frame.type, frame.payload) : this.parseSession(frame.session, frame.type, frame.payload);
    } catch (e) {
      this.fail(`guest agent sent a malformed frame ${type}: ${(e as Error).message}`);
      return false;
    }
    try {
      deliver?.();
      return true;
    } catch (e) {
      this.fail(`the host failed while handling the agent's frame ${type} (not a fault of the guest): ${(e as Error).message}`);
      return false;
    }
  }

  private fail(reason: string): void {
    this.stream.destroy();
    this.close(reason);
  }

  /** Parses a frame (throwing if it is malformed) into the delivery of its event; undefined for unknown types. */
  private parse(type: number, p: Buffer): (() => void) | undefined {
    const need = MIN_PAYLOAD[type] ?? 0;
    if (p.length < need) throw new Error(`${p.length} bytes, at least ${need} expected`);
    switch (type) {
      case FrameType.HELLO: {
        const hello = parseHello(p);
        return () => this.emit('hello', hello);
      }
      case FrameType.STARTED: {
        const pid = p.readUInt32LE(0);
        return () => this.emit('started', { pid });
      }
      case FrameType.OUTPUT: {
        const chunk = parseOutput(p);
        return () => this.emit('output', chunk);
      }
      case FrameType.EXIT: {
        const exit = parseExit(p);
        return () => this.emit('exit', exit);
      }
      case FrameType.ERROR: {
        const error = { code: p.readUInt32LE(0), message: p.subarray(4).toString('utf8') };
        return () => this.emit('agentError', error);
      }
      case FrameType.LOG: {
        const line = p.toString('utf8');
        return () => this.emit('log', line);
      }
      case FrameType.PROCESSES: {
        const list = decodeProcesses(p);
        return () => this.emit('processes', list);
      }
      case FrameType.STATS_RESULT: {
        const stats = decodeStats(p);
        return () => this.emit('stats', stats);
      }
      default:
        return undefined;
    }
  }

  /** The same for an exec session's frames. */
  private parseSession(session: number, type: number, p: Buffer): (() => void) | undefined {
    const need = MIN_PAYLOAD[type] ?? 0;
    if (p.length < need) throw new Error(`${p.length} bytes, at least ${need} expected`);
    switch (type) {
      case FrameType.STARTED: {
        const pid = p.readUInt32LE(0);
        return () => this.emit('sessionStarted', { session, pid });
      }
      case FrameType.OUTPUT: {
        const chunk = parseOutput(p);
        return () => this.emit('sessionOutput', { session, chunk });
      }
      case FrameType.EXIT: {
        const exit = parseExit(p);
        return () => this.emit('sessionExit', { session, exit });
      }
      case FrameType.ERROR: {
        const error = { session, code: p.readUInt32LE(0), message: p.subarray(4).toString('utf8') };
        return () => this.emit('sessionError', error);
      }
      case FrameType.STAT_RESULT: {
        const stat = decodeStat(p);
        return () => this.emit('sessionStat', { session, stat });
      }
      default:
        return undefined;
    }
  }
}

function parseOutput(p: Buffer): OutputChunk {
  return {
    stream: p.readUInt8(0) === 2 ? 'stderr' : 'stdout',
    timestamp: new Date(Number(p.readBigUInt64LE(4) / 1_000_000n)),
    data: Buffer.from(p.subarray(12)),
  };
}

/** `i32 code`, `u32 signal`, then (the main process's) records: OOM_KILLED. */
function parseExit(p: Buffer): ProcessExit {
  const signal = p.readUInt32LE(4);
  const exit: ProcessExit = { code: p.readInt32LE(0), signal: signal === 0 ? null : signal };
  for (const [tag, value] of decodeRecords(p.subarray(8))) {
    if (tag === RecordTag.OOM_KILLED && value[0] === 1) exit.oomKilled = true;
  }
  return exit;
}

/** Fixed parts of each payload; shorter frames are malformed. */
const MIN_PAYLOAD: Record<number, number> = {
  [FrameType.STARTED]: 4,
  [FrameType.OUTPUT]: 12,
  [FrameType.EXIT]: 8,
  [FrameType.ERROR]: 4,
};

function parseHello(payload: Buffer): AgentHello {
  const hello: AgentHello = { version: '', state: 'waiting', pid: null, exitCode: null };
  for (const [tag, value] of decodeRecords(payload)) {
    if (tag === RecordTag.AGENT_VERSION) hello.version = value.toString('utf8');
    else if (tag === RecordTag.STATE) hello.state = parseState(value.toString('utf8'));
    else if (tag === RecordTag.PID && value.length >= 4) hello.pid = value.readUInt32LE(0);
    else if (tag === RecordTag.EXIT_CODE && value.length >= 4) hello.exitCode = value.readInt32LE(0);
  }
  return hello;
}

function parseState(state: string): AgentState {
  if (state === 'waiting' || state === 'running' || state === 'exited') return state;
  throw new Error(`unknown agent state ${JSON.stringify(state)}`);
}
