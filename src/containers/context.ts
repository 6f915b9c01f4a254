/**
 * What every part of the containers layer works with: the store, the layers below, the logs, the settings,
 * one serial queue per container, the table of live runs and their execs, notices of deletions, and the
 * manager's phase (open, closing, detaching). Also the two record patches every part writes: the end of a run, and a fresh start.
 * @module
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { BaseLogger } from 'pino';
import { describeError, failedPrecondition, HearthError, notFound } from '../errors.ts';
import type { ContainerRecord } from '../model/index.ts';
import type { ContainerStore, Transition } from '../store/container-store.ts';
import type { ContainerNotices } from './attach.ts';
import type { ContainerDeps, ResolvedImage } from './deps.ts';
import { ExecTable } from './execs.ts';
import { LiveRuns } from './live-runs.ts';
import type { LogStore } from './log-store.ts';
import type { BackoffSettings } from './restart-policy.ts';
import type { Run, RunContext, RunSettings } from './run.ts';
import { KeyedQueue } from './serial-queue.ts';
import type { HostCapacity } from './validate.ts';

export interface ManagerSettings extends RunSettings {
  restart: BackoffSettings & { onFailureMaxRetries: number };
  stopGraceMs: number;
  /** How often a paused or silent VM is tried again after a manager restart. */
  recoveryRetryMs: number;
  /** Name servers written to each guest's resolv.conf. */
  dnsServers: string[];
  /** What the host has: no container may ask for more CPUs or memory. */
  host: HostCapacity;
}

/** A queue key no container id can take: serialises checks that span containers (names, host ports). */
export const GLOBAL = '*';

export class ContainerContext implements RunContext {
  /** Every change to a container is a task on its queue (serial-queue.ts). */
  readonly queue = new KeyedQueue();
  readonly runs = new LiveRuns();
  /** The execs of the running containers (execs.ts). */
  readonly execs = new ExecTable();
  /**
   * `removed`: a container was deleted (its events go with it, so this is how waiters hear of it);
   * `attach-point`: a run has its VM, and clients waiting to attach (attach-commands.ts) bind to it.
   */
  readonly notices = new EventEmitter<ContainerNotices>();
  /** Aborted when shutdown begins: open waits and event streams end. */
  readonly closed = new AbortController();
  /** Shutdown has begun: no new commands, no new restarts, provisioning is aborted. */
  closing = false;
  /** Shutdown is leaving the VMs that run to the next manager process: their ends are its to account for. */
  detaching = false;

  constructor(
    readonly store: ContainerStore,
    readonly deps: ContainerDeps,
    readonly logs: LogStore,
    readonly settings: ManagerSettings,
    readonly log: BaseLogger,
  ) {
    // Every open wait and event stream listens to these.
    this.notices.setMaxListeners(0);
    setMaxListeners(0, this.closed.signal);
  }

  async get(id: string): Promise<ContainerRecord> {
    const c = await this.store.getContainer(id);
    if (!c) throw containerNotFound(id);
    return c;
  }

  transition(id: string, t: Transition): Promise<ContainerRecord> {
    return this.store.transition(id, t);
  }

  /**
   * The image a run started from. A run adopted after a manager restart was found without it: it is resolved
   * again (local, kept for this container, pinned to the digest the run used, whatever the tag names now) and
   * remembered on the run.
   */
  async imageOf(c: ContainerRecord, run: Run): Promise<ResolvedImage> {
    run.image ??= await this.deps.images.ensureRootfs(c.image, { user: c.id, ...(c.image_digest ? { digest: c.image_digest } : {}) });
    return run.image;
  }

  /** Queues background work for a container; a failure is logged, there is nobody to answer. */
  enqueue(id: string, task: () => Promise<unknown>): void {
    void this.queue.run(id, task).catch((e) => this.taskFailed(id, e));
  }

  taskFailed(id: string, e: unknown): void {
    this.log.error({ err: e, container: id }, `container task failed: ${describeError(e)}`);
  }
}

/** The patch for a run that ended: its exit code, whether the OOM killer struck, when, and no address any more. */
export function ended(exitCode: number | null = null, oomKilled = false): Pick<ContainerRecord, 'exit_code' | 'oom_killed' | 'finished_at' | 'guest_ip'> {
  return { exit_code: exitCode, oom_killed: oomKilled, finished_at: new Date().toISOString(), guest_ip: null };
}

/** The patch that clears the outcome of the last run before a new one. */
export const CLEARED = { exit_code: null, oom_killed: false, error_message: null, started_at: null, finished_at: null, guest_ip: null } as const;

export function containerNotFound(id: string): HearthError {
  return notFound('HEARTH_ERR_CONTAINER_NOT_FOUND', `no container with id ${id}`);
}

export function stateConflict(message: string): HearthError {
  return failedPrecondition('HEARTH_ERR_CONTAINER_STATE', message);
}

export function shuttingDown(message: string): HearthError {
  return new HearthError('Unavailable', 'HEARTH_ERR_SHUTTING_DOWN', message);
}
