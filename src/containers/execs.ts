/**
 * Execs: commands run in a running container beside its process (`docker exec`). An exec is created (its
 * spec merged the Docker way), then started once; it runs until its command exits or the container's VM
 * ends. Whoever watches it (a start request, WebSocket clients) subscribes to its output and its end;
 * nobody needs to: it keeps running when its clients go, as Docker's do.
 *
 * Execs live in memory only: a container's are forgotten when its run ends or it is deleted, and at most
 * MAX_EXECS_PER_CONTAINER are kept per container (the oldest that are not running make room first).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describeError, failedPrecondition, HearthError, notFound } from '../errors.ts';
import type { ExecSession, ExecSpec, OutputChunk, Sandbox } from '../sandbox/sandbox.ts';

/** Execs kept per container, running or not; a container with this many running refuses another. */
export const MAX_EXECS_PER_CONTAINER = 64;

export type ExecState = 'created' | 'running' | 'exited';

export interface ExecEvents {
  output: [OutputChunk];
  /** The command ended (null: the VM ended first, or the command never started). */
  exit: [number | null];
}

export class Exec extends EventEmitter<ExecEvents> {
  state: ExecState = 'created';
  pid: number | null = null;
  exitCode: number | null = null;
  /** Why the command could not start (the guest's message), if it could not. */
  startError: string | null = null;
  private session?: ExecSession;

  constructor(
    readonly id: string,
    readonly containerId: string,
    readonly spec: ExecSpec,
  ) {
    super();
    // Subscribers come and go (WebSocket clients); an exec has no business warning about many of them.
    this.setMaxListeners(0);
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /**
   * Runs the command in `sandbox`; resolves once it started, or once it is known that it could not
   * (`startError`, exit 126/127). `onStart` is told first (started, or could not), then `onExit`.
   */
  async start(sandbox: Sandbox, hooks: { onStart: (e: Exec) => void; onExit: (e: Exec) => void }): Promise<void> {
    if (this.state !== 'created') throw execState(`exec ${this.id} was already started`);
    this.state = 'running';
    let session: ExecSession;
    try {
      session = await sandbox.exec(this.spec);
    } catch (e) {
      this.finish(null);
      throw e instanceof HearthError ? e : failedPrecondition('HEARTH_ERR_CONTAINER_STATE', `cannot run the exec: ${describeError(e)}`, e);
    }
    this.session = session;
    session.on('output', (chunk) => this.emit('output', chunk));
    await new Promise<void>((resolve) => {
      let told = false;
      const started = () => {
        if (told) return;
        told = true;
        hooks.onStart(this);
        resolve();
      };
      session.once('started', ({ pid }) => {
        this.pid = pid;
        started();
      });
      session.once('error', ({ message }) => {
        this.startError = message;
        started();
      });
      const ended = (code: number | null) => {
        started();
        this.finish(code);
        hooks.onExit(this);
      };
      void session.wait().then(
        (exit) => ended(exit?.code ?? null),
        () => ended(null),
      );
    });
  }

  /** Bytes for the command's stdin; ignored unless the exec has stdin and runs. */
  write(data: Buffer): void {
    if (this.running && this.spec.stdin) this.session?.write(data);
  }

  /** End of stdin: the command reads EOF. */
  endStdin(): void {
    if (this.running && this.spec.stdin) this.session?.end();
  }

  resize(rows: number, cols: number): void {
    if (this.running && this.spec.tty) this.session?.resize(rows, cols);
  }

  signal(signo: number): void {
    if (this.running) this.session?.signal(signo);
  }

  /** Resolves with the exit code once the exec ended (at once if it has). */
  done(): Promise<number | null> {
    if (this.state === 'exited') return Promise.resolve(this.exitCode);
    return new Promise((resolve) => this.once('exit', resolve));
  }

  /** The container's run ended: the command went with its VM. */
  abandon(): void {
    if (this.state !== 'exited') this.finish(null);
  }

  private finish(code: number | null): void {
    if (this.state === 'exited') return;
    this.state = 'exited';
    this.exitCode = code;
    this.emit('exit', code);
  }
}

/** Every container's execs, by exec id and by container. */
export class ExecTable {
  private readonly byId = new Map<string, Exec>();
  private readonly byContainer = new Map<string, Exec[]>();

  /** A new exec for the container; refused if MAX_EXECS_PER_CONTAINER of its execs are running. */
  add(containerId: string, spec: ExecSpec): Exec {
    const list = this.byContainer.get(containerId) ?? [];
    while (list.length >= MAX_EXECS_PER_CONTAINER) {
      const i = list.findIndex((e) => !e.running);
      if (i < 0) {
        throw new HearthError(
          'Unavailable',
          'HEARTH_ERR_EXEC_LIMIT',
          `container ${containerId} already runs ${MAX_EXECS_PER_CONTAINER} execs; wait for one to end`,
        );
      }
      this.byId.delete(list[i]!.id);
      list.splice(i, 1);
    }
    const exec = new Exec(randomBytes(32).toString('hex'), containerId, spec);
    list.push(exec);
    this.byContainer.set(containerId, list);
    this.byId.set(exec.id, exec);
    return exec;
  }

  get(id: string): Exec {
    const exec = this.byId.get(id);
    if (!exec) throw notFound('HEARTH_ERR_EXEC_NOT_FOUND', `no exec with id ${id} (execs are forgotten when their container stops)`);
    return exec;
  }

  /** The container's run ended or it was deleted: its execs end (if they ran) and are forgotten. */
  drop(containerId: string): void {
    for (const e of this.byContainer.get(containerId) ?? []) {
      e.abandon();
      this.byId.delete(e.id);
    }
    this.byContainer.delete(containerId);
  }

  clear(): void {
    for (const id of [...this.byContainer.keys()]) this.drop(id);
  }
}

export function execState(message: string): HearthError {
  return failedPrecondition('HEARTH_ERR_EXEC_STATE', message);
}
