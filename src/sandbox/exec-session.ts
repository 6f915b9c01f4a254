/**
 * One exec inside a guest, as the sandbox hands it out: its events come from the agent's session frames, and
 * its calls become frames for that session. It ends with the agent's EXIT, or with null when the channel is
 * lost or the VM goes first (the command may still run in the guest, as Docker's exec outlives its client).
 * @module
 */
import { EventEmitter } from 'node:events';
import type { AgentClient } from '../agent/client.ts';
import type { ExecSession, ExecSessionEvents, OutputChunk, ProcessExit } from '../agent/process.ts';

const ERROR_BAD_REQUEST = 1;

export class AgentExecSession extends EventEmitter<ExecSessionEvents> implements ExecSession {
  private ended = false;
  private started = false;
  private finish!: (exit: ProcessExit | null) => void;
  private readonly result = new Promise<ProcessExit | null>((resolve) => (this.finish = resolve));

  constructor(
    readonly id: number,
    private readonly agent: AgentClient,
  ) {
    super();
  }

  write(data: Buffer): void {
    if (!this.ended && data.length > 0) this.agent.stdin(this.id, data);
  }

  end(): void {
    if (!this.ended) this.agent.stdinEof(this.id);
  }

  resize(rows: number, cols: number): void {
    if (!this.ended) this.agent.resize(this.id, rows, cols);
  }

  signal(signo: number): void {
    if (!this.ended) this.agent.signalSession(this.id, signo);
  }

  wait(): Promise<ProcessExit | null> {
    return this.result;
  }

  get done(): boolean {
    return this.ended;
  }

  /** The sandbox routes the agent's session frames here. */
  onStarted(pid: number): void {
    this.started = true;
    this.emit('started', { pid });
  }

  onOutput(chunk: OutputChunk): void {
    this.emit('output', chunk);
  }

  /** A refused EXEC (ERROR 1 before STARTED) is the end of the session: no EXIT follows it. */
  onError(error: { code: number; message: string }): void {
    this.emit('error', error);
    if (error.code === ERROR_BAD_REQUEST && !this.started) this.close(null);
  }

  /** The exit, or null: the channel or the VM is gone. */
  close(exit: ProcessExit | null): void {
    if (this.ended) return;
    this.ended = true;
    if (exit) this.emit('exit', exit);
    this.finish(exit);
  }

  /**
   * `error` is an ordinary event here (the command could not start), not a thrown failure: without a listener,
   * EventEmitter would throw it.
   */
  override emit<K extends keyof ExecSessionEvents>(event: K, ...args: ExecSessionEvents[K]): boolean {
    if (event === 'error' && this.listenerCount('error') === 0) return false;
    return super.emit(event as keyof ExecSessionEvents, ...(args as never));
  }
}
