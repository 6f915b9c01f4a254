/**
 * One running microVM seen through the Sandbox interface: the VMM process from a driver and the agent
 * client on its control channel. It turns agent frames into sandbox events, keeps the channel connected,
 * and owns the exit handshake: EXIT is written to the run directory, then acknowledged, then the guest
 * powers off. Until it is acknowledged the agent re-sends EXIT on every connection, so an exit is never lost.
 */
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentClient } from '../agent/client.ts';
import { randomInt } from 'node:crypto';
import { HearthError } from '../errors.ts';
import { AgentExecSession } from './exec-session.ts';
import { copyError, readCopy, writeCopy } from './copy-session.ts';
import { OrderedAnswers } from './ordered-answers.ts';
import type { Readable } from 'node:stream';
import type { PathStat } from '../agent/copy-message.ts';
import type { AgentHello, AgentState } from '../agent/client.ts';
import type { GuestMount, GuestNetwork, RunLimits } from '../agent/run-message.ts';
import type { GuestStats } from '../agent/stats-message.ts';
import type { VmProcess } from '../vmm/driver.ts';
import type { ExecSession, ExecSpec, GuestProcess, ProcessExit, ProcessSpec, Sandbox, SandboxEvents, SandboxInfo, SandboxStats } from './sandbox.ts';

/** Time the guest gets after the grace period to report the exit and power off before the VMM is ended. */
const POWER_OFF_MARGIN_MS = 10_000;
/** After EXIT is acknowledged the guest syncs and powers off in well under a second. */
const POWER_OFF_WAIT_MS = 5_000;
/** A connected agent greets within a few ms (measured 2-10 ms). */
const HELLO_TIMEOUT_MS = 1_000;
/** Reattaching waits at most this many greetings: a guest that answers none is reported unresponsive. */
const HELLO_ATTEMPTS = 3;
const CONNECT_ATTEMPTS = 5;
const ERROR_BAD_REQUEST = 1;
/** The guest protocol's session of the main process. */
const MAIN_SESSION = 0;
/** STAT's answer for a path that does not exist (guest ERR_NOT_FOUND). */
const ERROR_NOT_FOUND = 6;
/** The guest answers TOP and STATS in milliseconds (a /proc walk, a few cgroup files); a silent one is not listening. */
const ANSWER_TIMEOUT_MS = 10_000;

/** What the agent is told to run, kept in the run directory so that an adopter can still send it. */
export interface LaunchedProcess {
  spec: ProcessSpec;
  rootfsType: 'ext4' | 'erofs';
  /** The container's cgroup limits in the guest (absent in records of earlier versions: none). */
  limits?: RunLimits;
  /** Absent in records written before volumes existed. */
  mounts?: GuestMount[];
  /** eth0's identity, set by the agent (absent: a VM without a network, or one the kernel configured at boot). */
  network?: GuestNetwork;
}

export const EXIT_FILE = 'exit.json';

export class MicroVmSandbox extends EventEmitter<SandboxEvents> implements Sandbox {
  private agent: AgentClient | undefined;
  private exit: ProcessExit | null = null;
  private startedPid: number | null = null;
  private agentState: AgentState | 'unknown' = 'unknown';
  private announcedReady = false;
  private detached = false;
  private isGone = false;
  private releaseScheduled = false;
  private readonly gone: Promise<void>;
  private readonly execs = new Map<number, AgentExecSession>();
  /** Session ids start at a random point: a manager that adopted the VM must not pick a live one of its predecessor. */
  private nextSession = randomInt(1, 0x7fff_ffff);
  private readonly pathStats = new Map<number, { resolve: (stat: PathStat) => void; reject: (e: Error) => void }>();
  private readonly processes: OrderedAnswers<GuestProcess[]>;
  private readonly guestStats: OrderedAnswers<GuestStats>;

  constructor(
    readonly info: SandboxInfo,
    private readonly vm: VmProcess,
    private readonly runDir: string,
    private readonly process: LaunchedProcess | undefined,
    /** Gives back the VM's run directory and what the VMM held on the host; only once the VMM is gone. */
    private readonly purge: () => Promise<void>,
  ) {
    super();
    this.processes = new OrderedAnswers(info.id, 'list its processes', ANSWER_TIMEOUT_MS);
    this.guestStats = new OrderedAnswers(info.id, 'report its usage', ANSWER_TIMEOUT_MS);
    this.gone = vm.exited.then(({ reason }) => {
      this.isGone = true;
      this.agent?.detach();
      this.endSessions(`VM ${info.id} is gone`);
      this.emit('gone', { reason: this.exit ? reason : `${reason} before the process reported an exit` });
    });
  }

  /** A freshly booted VM: connects at once; the agent greets when the guest is up and then gets its RUN. */
  async attach(): Promise<void> {
    this.agent = await this.connect({ hold: false });
  }

  /**
   * Reconnects to a running guest. What the agent sends first (its greeting, output written while no host
   * was connected, a pending EXIT) is held until someone listens, so none of it is lost to a caller that
   * subscribes right after `adopt` resolves.
   */
  async reattach(): Promise<void> {
    // A paused guest cannot greet: it is connected to when it resumes.
    if (!this.vm.paused) this.agent = await this.connect({ hold: true });
    (this as EventEmitter).on('newListener', (event: string) => {
      if (event !== 'newListener' && event !== 'removeListener') this.scheduleRelease();
    });
  }

  async stop(options: { signal: number; graceMs: number }): Promise<void> {
    // An adopted guest's greeting may still be held for listeners: the state it tells is needed now.
    this.releaseNow();
    if (this.agentState === 'exited') {
      // The process is over and the guest is syncing its disks: give it the time to power off.
      if (await this.goneWithin(POWER_OFF_WAIT_MS)) return;
    } else if (this.agent && this.agentState === 'running') {
      this.agent.stop(options.signal, options.graceMs);
      if (await this.goneWithin(options.graceMs + POWER_OFF_MARGIN_MS)) return;
    }
    await this.kill();
  }

  async signal(signal: number): Promise<void> {
    this.agent?.signal(signal);
  }

  writeStdin(data: Buffer): void {
    const agent = this.mainInput('stdin');
    if (agent && data.length > 0) agent.stdin(MAIN_SESSION, data);
  }

  endStdin(): void {
    this.mainInput('stdin')?.stdinEof(MAIN_SESSION);
  }

  resize(rows: number, cols: number): void {
    this.mainInput('tty')?.resize(MAIN_SESSION, rows, cols);
  }

  /** The agent, when the main process runs and has that input (its spec says so); else undefined. */
  private mainInput(kind: 'stdin' | 'tty'): AgentClient | undefined {
    const agent = this.agent;
    if (!agent || !agent.open || this.isGone || this.agentState !== 'running') return undefined;
    // An adopted sandbox has no spec: the containers layer knows the process and decides.
    const spec = this.process?.spec;
    if (spec && !(kind === 'stdin' ? spec.stdin : spec.tty)) return undefined;
    return agent;
  }

  async exec(spec: ExecSpec): Promise<ExecSession> {
    const agent = this.agent;
    if (!agent || !agent.open || this.isGone || this.agentState !== 'running') {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONTAINER_STATE', `VM ${this.info.id}: cannot exec, its process is not running`);
    }
    const id = this.allocateSession();
    const session = new AgentExecSession(id, agent);
    // The container's user, working directory and capabilities unless the exec names its own, as Docker's exec does.
    const capabilities = spec.capabilities ?? this.process?.spec.capabilities;
    const filled: ExecSpec = {
      ...spec,
      user: spec.user || this.process?.spec.user || '',
      cwd: spec.cwd || this.process?.spec.cwd || '/',
      ...(capabilities === undefined ? {} : { capabilities }),
    };
    agent.exec(id, filled);
    this.execs.set(id, session);
    return session;
  }

  async copyOut(path: string): Promise<Readable> {
    const { agent, session } = this.openSession('copy', (a, id) => a.copyOut(id, path));
    return readCopy(session, agent, this.info.id);
  }

  async copyIn(dir: string, tar: Readable): Promise<void> {
    const { agent, session } = this.openSession('copy', (a, id) => a.copyIn(id, dir));
    await writeCopy(session, agent, tar, this.info.id);
  }

  async stat(path: string): Promise<PathStat> {
    const agent = this.runningAgent('stat');
    const id = this.allocateSession();
    return new Promise((resolve, reject) => {
      this.pathStats.set(id, { resolve, reject });
      agent.stat(id, path);
    });
  }

  /** The agent of a running process, or FailedPrecondition naming what could not be done. */
  private runningAgent(what: string): AgentClient {
    const agent = this.agent;
    if (!agent || !agent.open || this.isGone || this.agentState !== 'running') {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONTAINER_STATE', `VM ${this.info.id}: cannot ${what}, its process is not running`);
    }
    return agent;
  }

  /** A session the agent's session frames are routed to, started by `start`. */
  private openSession(what: string, start: (agent: AgentClient, id: number) => void): { agent: AgentClient; session: AgentExecSession } {
    const agent = this.runningAgent(what);
    const id = this.allocateSession();
    const session = new AgentExecSession(id, agent);
    this.execs.set(id, session);
    start(agent, id);
    return { agent, session };
  }

  async top(): Promise<GuestProcess[]> {
    const agent = this.runningAgent('list processes');
    return this.processes.request(() => agent.top());
  }

  /** The guest's figures (STATS) and the host's (the VMM's process and disks), read at once. */
  async stats(): Promise<SandboxStats> {
    const agent = this.runningAgent('read its usage');
    const at = new Date();
    const [guest, vmm] = await Promise.all([this.guestStats.request(() => agent.stats()), this.vm.usage()]);
    return { at, guest, vmm };
  }

  async pause(): Promise<void> {
    await this.vm.pause();
  }

  async resume(): Promise<void> {
    await this.vm.resume();
    if (!this.agent) {
      this.agent = await this.connect({ hold: true });
      this.releaseNow();
    }
    this.agent.clock();
  }

  async kill(): Promise<void> {
    await this.vm.terminate();
    await this.gone;
  }

  async wait(): Promise<ProcessExit | null> {
    this.scheduleRelease();
    await this.gone;
    return this.exit;
  }

  async release(): Promise<void> {
    await this.purge();
  }

  detach(): void {
    this.detached = true;
    this.agent?.detach();
    this.vm.detach();
  }

  /**
   * Connects and, for a running guest, waits for its greeting. The agent greets every new connection, but
   * only once it has noticed that the previous one ended; a guest that did not notice (the old host
   * vanished within a millisecond) never greets, so a silent connection is dropped and made again. A
   * guest that greets none of them (hung, or its agent gone) is HEARTH_ERR_AGENT_UNRESPONSIVE.
   */
  private async connect(options: { hold: boolean }): Promise<AgentClient> {
    for (let attempt = 1; ; attempt++) {
      const agent = this.listen(new AgentClient(await this.vm.connectControl(), options));
      if (!options.hold) return agent;
      const greeted = await Promise.race([agent.greeted.then(() => true), delay(HELLO_TIMEOUT_MS).then(() => false)]);
      if (greeted) return agent;
      agent.detach();
      if (attempt === HELLO_ATTEMPTS) {
        throw new HearthError(
          'Unavailable',
          'HEARTH_ERR_AGENT_UNRESPONSIVE',
          `VM ${this.info.id}: its VMM runs but the guest agent did not answer ${HELLO_ATTEMPTS} connections in ${HELLO_ATTEMPTS * HELLO_TIMEOUT_MS} ms`,
        );
      }
      await delay(100);
    }
  }

  private listen(agent: AgentClient): AgentClient {
    agent.on('hello', (hello) => this.onHello(agent, hello));
    agent.on('started', ({ pid }) => this.onStarted(pid));
    agent.on('output', (chunk) => this.emit('output', chunk));
    agent.on('log', (line) => this.emit('log', line));
    agent.on('agentError', (e) => {
      // After the start, a bad request can only be a refused SIGNAL or STOP, not a failure of the process.
      if (!(e.code === ERROR_BAD_REQUEST && this.startedPid !== null)) this.emit('agentError', e);
    });
    agent.on('exit', (exit) => this.onExit(agent, exit));
    agent.on('processes', (list) => this.processes.answer(list));
    agent.on('stats', (stats) => this.guestStats.answer(stats));
    agent.on('sessionStarted', ({ session, pid }) => this.execs.get(session)?.onStarted(pid));
    agent.on('sessionOutput', ({ session, chunk }) => this.execs.get(session)?.onOutput(chunk));
    agent.on('sessionStat', ({ session, stat }) => {
      this.pathStats.get(session)?.resolve(stat);
      this.pathStats.delete(session);
    });
    agent.on('sessionError', ({ session, code, message }) => {
      const stat = this.pathStats.get(session);
      if (stat) {
        this.pathStats.delete(session);
        stat.reject(copyError(code === ERROR_NOT_FOUND ? 2 : 1, message, this.info.id));
        return;
      }
      const exec = this.execs.get(session);
      exec?.onError({ code, message });
      if (exec?.done) this.execs.delete(session);
    });
    agent.on('sessionExit', ({ session, exit }) => {
      this.execs.get(session)?.close(exit);
      this.execs.delete(session);
    });
    agent.on('closed', ({ reason }) => {
      if (agent === this.agent) this.endSessions(`the control channel of VM ${this.info.id} was lost: ${reason}`);
      void this.reconnect(agent);
    });
    return agent;
  }

  private onHello(agent: AgentClient, hello: AgentHello): void {
    this.agentState = hello.state;
    if (!this.announcedReady) {
      this.announcedReady = true;
      this.emit('ready');
    }
    if (hello.state === 'waiting' && this.process) this.sendRun(agent, this.process);
    if (hello.state === 'running' && hello.pid !== null) this.onStarted(hello.pid);
    // 'exited': the agent sends EXIT right after its greeting, with the signal too.
  }

  /**
   * The launcher encoded this RUN before the VM booted, so it fits; a process recorded by an earlier version
   * may not. Then the VM can never run it: it is ended, and the failure is the host's, not the guest's.
   */
  private sendRun(agent: AgentClient, process: LaunchedProcess): void {
    try {
      agent.run(process.spec, process.rootfsType, { limits: process.limits, mounts: process.mounts, network: process.network });
    } catch (e) {
      this.emit('failed', { error: e as Error });
      // `gone` reports the end; if ending fails here, the owner's kill or release tries again.
      this.vm.terminate().catch(() => undefined);
    }
  }

  private onStarted(pid: number): void {
    this.agentState = 'running';
    if (this.startedPid !== null) return;
    this.startedPid = pid;
    this.emit('started', { pid });
  }

  /** Every EXIT is acknowledged (the agent repeats it until it is), but only after it is on disk. */
  private onExit(agent: AgentClient, exit: ProcessExit): void {
    this.agentState = 'exited';
    if (!this.exit) {
      this.exit = exit;
      writeFileSync(path.join(this.runDir, EXIT_FILE), JSON.stringify(exit));
      this.emit('exit', exit);
    }
    agent.ackExit();
  }

  /** The channel broke while the VM runs (a bad frame, a QEMU chardev hiccup): connect again. */
  private async reconnect(broken: AgentClient): Promise<void> {
    if (broken !== this.agent || this.detached) return;
    for (let attempt = 1; attempt <= CONNECT_ATTEMPTS; attempt++) {
      await delay(100 * attempt);
      if (this.isGone || this.detached) return;
      try {
        this.agent = await this.connect({ hold: false });
        return;
      } catch {
        // The VMM may be on its way out; `gone` will say so.
      }
    }
  }

  private allocateSession(): number {
    do {
      this.nextSession = this.nextSession >= 0x7fff_ffff ? 1 : this.nextSession + 1;
    } while (this.execs.has(this.nextSession) || this.pathStats.has(this.nextSession));
    return this.nextSession;
  }

  /** Sessions, TOP and STATS requests on a lost channel end: their frames went with it. */
  private endSessions(reason: string): void {
    for (const session of this.execs.values()) session.close(null);
    this.execs.clear();
    for (const waiter of this.pathStats.values()) waiter.reject(new HearthError('Unavailable', 'HEARTH_ERR_CONTROL_CHANNEL', reason));
    this.pathStats.clear();
    this.processes.failAll(new HearthError('Unavailable', 'HEARTH_ERR_CONTROL_CHANNEL', reason));
    this.guestStats.failAll(new HearthError('Unavailable', 'HEARTH_ERR_CONTROL_CHANNEL', reason));
  }

  private scheduleRelease(): void {
    if (this.releaseScheduled) return;
    this.releaseScheduled = true;
    // On the next turn, so that every listener the caller adds in the same turn hears the backlog.
    setImmediate(() => this.agent?.release());
  }

  private releaseNow(): void {
    this.releaseScheduled = true;
    this.agent?.release();
  }

  private goneWithin(ms: number): Promise<boolean> {
    return Promise.race([this.gone.then(() => true), delay(ms).then(() => false)]);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
