/**
 * One running microVM seen through the Sandbox interface: the VMM process from a driver and the agent
 * client on its control channel. It turns agent frames into sandbox events and owns the exit handshake
 * (EXIT, then EXIT_ACK, then the guest powers off).
 */
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { AgentClient } from '../agent/client.ts';
import type { VmProcess } from '../vmm/driver.ts';
import type { ProcessExit, ProcessSpec, Sandbox, SandboxEvents, SandboxInfo } from './sandbox.ts';

/** Time the guest gets after the grace period to report the exit and power off before the VMM is ended. */
const POWER_OFF_MARGIN_MS = 10_000;
/** A connected agent greets within a few ms (measured 2-10 ms). */
const HELLO_TIMEOUT_MS = 1_500;
const REATTACH_ATTEMPTS = 3;

export class MicroVmSandbox extends EventEmitter<SandboxEvents> implements Sandbox {
  private agent: AgentClient | undefined;
  private exit: ProcessExit | null = null;
  private agentState: 'unknown' | 'waiting' | 'running' | 'exited' = 'unknown';
  private readonly gone: Promise<void>;

  constructor(
    readonly info: SandboxInfo,
    private readonly vm: VmProcess,
    private readonly runDir: string,
  ) {
    super();
    this.gone = vm.exited.then(({ reason }) => {
      this.agent?.detach();
      this.emit('gone', { reason: this.exit ? reason : `${reason} before the process reported an exit` });
    });
  }

  /** Connects the agent channel; with `process`, sends it to the agent as soon as the agent says hello. */
  async attach(process?: { spec: ProcessSpec; rootfsType: 'ext4' | 'erofs' }): Promise<void> {
    this.agent = await this.connectAgent(process);
  }

  /**
   * Reconnects to a running guest. The agent greets every new connection, but only once it has noticed
   * the previous one ended; a guest that did not notice (the old host vanished within a millisecond)
   * never greets, so a silent connection is dropped and made again.
   */
  async reattach(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const agent = await this.connectAgent();
      const greeted = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), HELLO_TIMEOUT_MS);
        agent.once('hello', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (greeted || attempt === REATTACH_ATTEMPTS) {
        this.agent = agent;
        return;
      }
      agent.detach();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async connectAgent(process?: { spec: ProcessSpec; rootfsType: 'ext4' | 'erofs' }): Promise<AgentClient> {
    const agent = new AgentClient(await this.vm.connectControl());
    agent.on('hello', (hello) => {
      this.agentState = hello.state;
      this.emit('ready');
      if (hello.state === 'waiting' && process) agent.run(process.spec, process.rootfsType);
      if (hello.state === 'running' && hello.pid !== null) this.emit('started', { pid: hello.pid });
      if (hello.state === 'exited' && hello.exitCode !== null) this.recordExit({ code: hello.exitCode, signal: null });
    });
    agent.on('started', (e) => {
      this.agentState = 'running';
      this.emit('started', e);
    });
    agent.on('output', (chunk) => this.emit('output', chunk));
    agent.on('agentError', (e) => this.emit('agentError', e));
    agent.on('exit', (e) => this.recordExit(e));
    return agent;
  }

  async stop(options: { signal: number; graceMs: number }): Promise<void> {
    if (this.agent && this.agentState === 'running') {
      this.agent.stop(options.signal, options.graceMs);
      const inTime = await Promise.race([
        this.gone.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), options.graceMs + POWER_OFF_MARGIN_MS).unref()),
      ]);
      if (inTime) return;
    }
    await this.kill();
  }

  async signal(signal: number): Promise<void> {
    this.agent?.signal(signal);
  }

  async kill(): Promise<void> {
    await this.vm.terminate();
    await this.gone;
  }

  async wait(): Promise<ProcessExit | null> {
    await this.gone;
    return this.exit;
  }

  async release(): Promise<void> {
    await rm(this.runDir, { recursive: true, force: true });
  }

  detach(): void {
    this.agent?.detach();
    this.vm.detach();
  }

  private recordExit(exit: ProcessExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.agentState = 'exited';
    this.emit('exit', exit);
    this.agent?.ackExit();
  }
}
