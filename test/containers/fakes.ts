/**
 * Fakes of the three layers below the containers layer. Each keeps what is "on the host" (run directories,
 * live VMs, taps, addresses, port forwards) so tests can assert that nothing is left behind.
 *
 * The fake VM's behaviour comes from the process argv (see FakeSandbox.run):
 *   ["echo", ...words]       prints the words, exits 0
 *   ["exit", "3"]            exits 3
 *   ["print-exit", o, e, "3"] prints line o to stdout and line e to stderr, exits 3
 *   ["sleep"]                runs until stopped (exit 128+signal)
 *   ["print-sleep", ...ls]   prints each line, then runs until stopped
 *   ["crash"]                the VM dies without an exit status
 *   ["oom"]                  runs, then is ended by the OOM killer (137, oomKilled)
 *   ["badexec"]              the agent reports exec failed (exit 127)
 *   ["hang"]                 never reports started
 *   ["cat"]                  echoes its stdin to stdout (stdout with a tty too); exits 0 when stdin ends
 *                            (`endStdin`, ignored with a tty, as a terminal has no end of input)
 * Its stdin (`writeStdin`) is kept in `stdin` and window sizes (`resize`) in `resizes`, when the spec has
 * `stdin` / `tty`; otherwise they are dropped, as the agent drops them.
 * A signal (`signal`, as a kill sends) ends a started process with 128+n, but SIGWINCH and SIGCHLD.
 *
 * An exec (FakeExecSession) plays its argv the same way:
 *   ["echo", ...words]       prints the words, exits 0
 *   ["stderr", ...words]     prints the words to stderr (stdout with a tty), exits 0
 *   ["bytes", "n"]           prints n bytes ("x") to stdout in 64 KiB chunks, exits 0
 *   ["exit", "3"]            exits 3
 *   ["cat"]                  echoes stdin to stdout until stdin ends, then exits 0
 *   ["sleep"]                runs until signalled (exit 128+signal)
 *   ["tty"]                  prints /dev/pts/0 with a tty (exit 0), "not a tty" without (exit 1)
 *   ["stty-size"]            prints the window size ("rows cols"), exits 0
 *   ["env"] / ["pwd"] / ["whoami"]   print the exec's env (one per line), cwd, user (empty: root)
 *   anything else            cannot start: error, then exit 127 (Docker's message)
 * Output travels as the agent's would: asynchronously, in order. A VM that ends ends its execs (wait: null).
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HearthError } from '../../src/errors.ts';
import { Readable } from 'node:stream';
import { posix } from 'node:path';
import { readTar } from '../../src/images/tar.ts';
import { makeTar, type TarSpec } from '../helpers/tar-writer.ts';
import type { PathStat } from '../../src/sandbox/sandbox.ts';
import type {
  CollectResult,
  ContainerNetwork,
  ImageConfig,
  ImageDetails,
  ImageLibrary,
  PullTiming,
  ImageSummary,
  NetworkAttachment,
  NetworkCounters,
  PullProgress,
  PortHandle,
  PortRule,
  RemoveResult,
  ResolvedImage,
  WritableLayers,
} from '../../src/containers/deps.ts';
import type {
  ExecSession,
  ExecSessionEvents,
  ExecSpec,
  GuestProcess,
  ProcessExit,
  Sandbox,
  SandboxEvents,
  SandboxInfo,
  SandboxLauncher,
  SandboxSpec,
  SandboxStats,
} from '../../src/sandbox/sandbox.ts';
import { vmSizeFor } from '../../src/sandbox/sandbox.ts';

/** Signals a fake process does not die of. */
const IGNORED_SIGNALS = new Set([0, 17, 28]);

export class FakeExecSession extends EventEmitter implements ExecSession {
  exit?: ProcessExit | null;
  pid = 0;
  readonly signals: number[] = [];
  readonly resizes: Array<{ rows: number; cols: number }> = [];
  stdinEnded = false;
  private size: { rows: number; cols: number };
  private readonly waiters: Array<(e: ProcessExit | null) => void> = [];

  constructor(
    readonly id: number,
    readonly spec: ExecSpec,
  ) {
    super();
    this.size = spec.size ?? { rows: 24, cols: 80 };
  }

  get running(): boolean {
    return this.pid !== 0 && this.exit === undefined;
  }

  /** Plays the script chosen by argv, asynchronously, as the agent's frames would arrive. */
  play(): void {
    const [cmd, ...rest] = this.spec.argv;
    const later = (f: () => void) => void setImmediate(() => this.exit === undefined && f());
    const print = (text: string, stream: 'stdout' | 'stderr' = 'stdout') =>
      this.emit('output', { stream: this.spec.tty ? 'stdout' : stream, timestamp: new Date(), data: Buffer.from(text) });
    const start = () => {
      this.pid = 100 + this.id;
      this.emit('started', { pid: this.pid });
    };
    const run = (body: () => void) => later(() => (start(), body()));
    const done = (code: number) => later(() => this.end({ code, signal: null }));
    switch (cmd) {
      case 'echo':
        return run(() => (print(rest.join(' ') + '\n'), done(0)));
      case 'stderr':
        return run(() => (print(rest.join(' ') + '\n', 'stderr'), done(0)));
      case 'exit':
        return run(() => done(Number(rest[0])));
      case 'bytes':
        return run(() => {
          for (let left = Number(rest[0]); left > 0; left -= 65536) print('x'.repeat(Math.min(left, 65536)));
          done(0);
        });
      case 'cat':
        return run(() => {
          this.on('stdin', (d: Buffer) => this.emit('output', { stream: 'stdout', timestamp: new Date(), data: d }));
          if (!this.spec.stdin || this.stdinEnded) done(0);
          else this.once('eof', () => done(0));
        });
      case 'sleep':
        return run(() => {});
      case 'tty':
        return run(() => (this.spec.tty ? (print('/dev/pts/0\n'), done(0)) : (print('not a tty\n'), done(1))));
      case 'stty-size':
        return run(() => (print(`${this.size.rows} ${this.size.cols}\n`), done(0)));
      case 'env':
        return run(() => (print(this.spec.env.map((e) => e + '\n').join('')), done(0)));
      case 'pwd':
        return run(() => (print(this.spec.cwd + '\n'), done(0)));
      case 'whoami':
        return run(() => (print((this.spec.user || 'root') + '\n'), done(0)));
      default:
        return later(() => {
          this.emit('error', { code: 127, message: `exec: "${cmd}": executable file not found in $PATH` });
          this.end({ code: 127, signal: null });
        });
    }
  }

  write(data: Buffer): void {
    if (!this.spec.stdin || this.stdinEnded) return;
    const copy = Buffer.from(data);
    setImmediate(() => this.exit === undefined && this.emit('stdin', copy));
  }
  end(exit?: ProcessExit | null): void {
    if (exit !== undefined) {
      if (this.exit !== undefined) return;
      this.exit = exit;
      if (exit) this.emit('exit', exit);
      for (const w of this.waiters.splice(0)) w(exit);
      return;
    }
    if (this.stdinEnded) return;
    this.stdinEnded = true;
    setImmediate(() => this.exit === undefined && this.emit('eof'));
  }
  resize(rows: number, cols: number): void {
    this.resizes.push({ rows, cols });
    this.size = { rows, cols };
  }
  signal(signo: number): void {
    this.signals.push(signo);
    if (!this.running || IGNORED_SIGNALS.has(signo)) return;
    setImmediate(() => this.end({ code: 128 + signo, signal: signo }));
  }
  wait(): Promise<ProcessExit | null> {
    if (this.exit !== undefined) return Promise.resolve(this.exit);
    return new Promise((r) => this.waiters.push(r));
  }
  override on<K extends keyof ExecSessionEvents | 'stdin' | 'eof'>(event: K, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }
  override once<K extends keyof ExecSessionEvents | 'stdin' | 'eof'>(event: K, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }
}

/** A promise to hold an operation until the test lets it go. */
export class Gate {
  private opened = false;
  private waiters: Array<() => void> = [];
  reached = 0;
  async pass(): Promise<void> {
    this.reached++;
    if (!this.opened) await new Promise<void>((r) => this.waiters.push(r));
  }
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Where FakeImages keeps its (empty) disk files unless given a directory: one file per reference, reused. */
const FAKE_IMAGE_DIR = join(tmpdir(), 'hearth-fake-images');

/**
 * Images from a table of configs. The image API's calls answer as an empty local store would: the routes
 * exist for the tests that sweep every route (test/api/auth.test.ts); the image API itself is tested against
 * the real image store and a real registry (test/images/api.test.ts).
 */
export class FakeImages implements ImageLibrary {
  readonly calls: string[] = [];
  readonly released: string[] = [];
  gate?: Gate;
  /** References whose registry "does not answer" (Unavailable). */
  readonly unreachable = new Set<string>();
  /** container id -> the manifest digest kept for it (given as `user`, until `release`). */
  readonly kept = new Map<string, string>();
  /** Every image resolved so far, by manifest digest. */
  private readonly resolved = new Map<string, { ref: string; config: ImageConfig }>();
  private readonly dir: string;

  constructor(
    readonly images: Record<string, ImageConfig> = {},
    options: { dir?: string } = {},
  ) {
    this.dir = options.dir ?? FAKE_IMAGE_DIR;
  }

  /**
   * As the image store: a disk file that exists, and a manifest digest of this image's own (of the reference
   * and its config, so a reference given another config has "moved"). `digest` asks for an image resolved
   * before, whatever its reference names now; `user` keeps it for that container (see `kept`) until
   * `release`; `onProgress` hears `resolving`, `resolved`, `building`, `ready` the first time an image is
   * resolved, then only `ready` (it is here).
   */
  async ensureRootfs(ref: string, opts: { user?: string; digest?: string; onProgress?: (p: PullProgress) => void } = {}): Promise<ResolvedImage> {
    this.calls.push(opts.digest ? `${ref}@${opts.digest}` : ref);
    // By digest: an image resolved before, or (as a pull by digest from the registry) the one its reference
    // names now if that is the digest (a new fake, as after a manager restart, has resolved nothing yet).
    const current = this.images[ref];
    const known = opts.digest
      ? (this.resolved.get(opts.digest) ?? (current && fakeDigest(ref, current) === opts.digest ? { ref, config: current } : undefined))
      : undefined;
    const config = opts.digest ? known?.config : this.images[ref];
    const manifestDigest = config ? fakeDigest(known?.ref ?? ref, config) : undefined;
    const fresh = manifestDigest !== undefined && !this.resolved.has(manifestDigest);
    const emit = (p: PullProgress) => opts.onProgress?.(p);
    await this.gate?.pass();
    if (this.unreachable.has(ref)) {
      this.pulled({ seconds: 0.001, ok: false });
      throw new HearthError('Unavailable', 'HEARTH_ERR_REGISTRY_UNAVAILABLE', `image ${ref}: its registry does not answer`);
    }
    if (!config || !manifestDigest) {
      const what = opts.digest ? `${ref}@${opts.digest}` : ref;
      throw new HearthError('NotFound', 'HEARTH_ERR_IMAGE_NOT_FOUND', `image "${what}" not found in the registry`);
    }
    if (fresh) {
      this.pulled({ seconds: 0.001, ok: true });
      emit({ type: 'resolving', ref });
      emit({ type: 'resolved', ref, manifestDigest, layers: [] });
      emit({ type: 'building', manifestDigest });
    }
    const diskPath = join(this.dir, `${encodeURIComponent(ref)}.ext4`);
    // Synchronously, so that resolving takes no more turns of the event loop than it did.
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(diskPath, '', { flag: 'a' });
    this.resolved.set(manifestDigest, { ref: known?.ref ?? ref, config });
    if (opts.user) this.kept.set(opts.user, manifestDigest);
    emit({ type: 'ready', ref, manifestDigest, diskPath });
    return { diskPath, fsType: 'ext4', config, manifestDigest };
  }
  release(containerId: string): void {
    this.released.push(containerId);
    this.kept.delete(containerId);
  }
  async list(): Promise<ImageSummary[]> {
    return [];
  }
  async inspect(ref: string): Promise<ImageDetails> {
    throw notLocal(ref);
  }
  /** Accepts user "hearth" with password "secret" for any registry, as a registry with one account would. */
  async checkLogin(registry: string, c: { username: string; password: string }): Promise<void> {
    if (c.username !== 'hearth' || c.password !== 'secret') {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_REGISTRY_UNAUTHORIZED', `${registry} refused the credentials for user "${c.username}"`);
    }
  }

  async pull(ref: string): Promise<string> {
    return (await this.ensureRootfs(ref)).manifestDigest;
  }
  async remove(ref: string): Promise<RemoveResult> {
    throw notLocal(ref);
  }
  async tag(source: string): Promise<{ ref: string; manifestDigest: string }> {
    throw notLocal(source);
  }
  async prune(): Promise<CollectResult> {
    return { images: [], disks: 0, blobs: 0, freedBytes: 0 };
  }
  /** An image resolved for the first time counts as a pull of 1 ms; an unreachable one as a failed one. */
  onPull(listener: (t: PullTiming) => void): () => void {
    this.pullListeners.add(listener);
    return () => this.pullListeners.delete(listener);
  }
  private readonly pullListeners = new Set<(t: PullTiming) => void>();
  private pulled(t: PullTiming): void {
    for (const l of this.pullListeners) l(t);
  }
}

function fakeDigest(ref: string, config: ImageConfig): string {
  return 'sha256:' + createHash('sha256').update(JSON.stringify([ref, config])).digest('hex');
}

function notLocal(ref: string): HearthError {
  return new HearthError('NotFound', 'HEARTH_ERR_IMAGE_NOT_FOUND', `image ${ref} is not in the local store: pull it first`);
}

export class FakeNetwork implements ContainerNetwork {
  /** tap -> vm id */
  readonly taps = new Map<string, string>();
  /** address -> vm id */
  readonly addresses = new Map<string, string>();
  /** "ip:port/proto" -> rule */
  readonly ports = new Map<string, PortRule>();
  /** Host ports something else holds. */
  readonly busyPorts = new Set<number>();
  readonly log: string[] = [];
  attachGate?: Gate;
  /** Guest addresses 10.9.0.2 .. 10.9.0.(1 + capacity), the lowest free one first, as the real pool. */
  readonly capacity: number;
  /** Tap names are never reused (the real ones are named after the VM). */
  private nextTap = 2;

  constructor(options: { capacity?: number } = {}) {
    this.capacity = options.capacity ?? 253;
  }

  async attach(vmId: string): Promise<NetworkAttachment> {
    await this.attachGate?.pass();
    let n = 2;
    while (this.addresses.has(`10.9.0.${n}`)) n++;
    if (n - 2 >= this.capacity) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_NET_POOL_EXHAUSTED', `all ${this.capacity} addresses of the network pool 10.9.0.0/24 are in use`);
    }
    const a = { tap: `hth${this.nextTap++}`, mac: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`, guestIp: `10.9.0.${n}`, prefixLength: 24, gateway: '10.9.0.1' };
    this.taps.set(a.tap, vmId);
    this.addresses.set(a.guestIp, vmId);
    this.log.push(`attach ${vmId} ${a.tap}`);
    return a;
  }
  async reserve(vmId: string, a: NetworkAttachment): Promise<void> {
    this.addresses.set(a.guestIp, vmId);
    this.log.push(`reserve ${vmId}`);
  }
  /** The address is given back only if this VM still holds it: a second detach frees nothing taken since. */
  async detach(vmId: string, a: NetworkAttachment): Promise<void> {
    this.taps.delete(a.tap);
    if (this.addresses.get(a.guestIp) === vmId) this.addresses.delete(a.guestIp);
    this.log.push(`detach ${vmId} ${a.tap}`);
  }
  async listTaps(): Promise<string[]> {
    return [...this.taps.keys()];
  }
  async deleteTap(name: string): Promise<void> {
    this.taps.delete(name);
    this.log.push(`deleteTap ${name}`);
  }
  /**
   * Refused as the real PortForwarder refuses a port bound by anyone: the same port and protocol on the same
   * address, or on any when either is 0.0.0.0. `close` gives back only its own.
   */
  async openPort(rule: PortRule): Promise<PortHandle> {
    const key = `${rule.hostIp}:${rule.hostPort}/${rule.protocol}`;
    const overlaps = (r: PortRule) => r.hostPort === rule.hostPort && r.protocol === rule.protocol && (r.hostIp === rule.hostIp || r.hostIp === '0.0.0.0' || rule.hostIp === '0.0.0.0');
    if (this.busyPorts.has(rule.hostPort) || [...this.ports.values()].some(overlaps)) {
      throw new HearthError('AlreadyExists', 'HEARTH_ERR_PORT_IN_USE', `host port ${rule.hostPort} (${key}) is already in use`, { field: 'hostPort' });
    }
    const held = { ...rule };
    this.ports.set(key, held);
    return { close: () => void (this.ports.get(key) === held && this.ports.delete(key)) };
  }
  /** A tap's traffic: each reading has 1000 bytes and 10 packets more each way than the one before. */
  private readonly readings = new Map<string, number>();
  async counters(a: NetworkAttachment): Promise<NetworkCounters | null> {
    if (!this.taps.has(a.tap)) return null;
    const n = (this.readings.get(a.tap) ?? 0) + 1;
    this.readings.set(a.tap, n);
    return { rx_bytes: 1000 * n, rx_packets: 10 * n, rx_errors: 0, rx_dropped: 0, tx_bytes: 1000 * n, tx_packets: 10 * n, tx_errors: 0, tx_dropped: 0 };
  }
  /** Forget the in-memory pool, as a new manager process would (taps stay on the "host"). */
  restartProcess(): void {
    this.addresses.clear();
    this.ports.clear();
  }
}

export class FakeSandbox extends EventEmitter<SandboxEvents> implements Sandbox {
  readonly info: SandboxInfo;
  alive = true;
  released = false;
  detached = false;
  exit: ProcessExit | null = null;
  started = false;
  /** vCPUs stopped (pause); a restarted manager's adopt sees it. */
  paused = false;
  readonly signals: number[] = [];
  readonly execs: FakeExecSession[] = [];
  readonly stdin: Buffer[] = [];
  readonly resizes: Array<{ rows: number; cols: number }> = [];
  private stdinEnded = false;
  private goneWaiters: Array<(e: ProcessExit | null) => void> = [];

  constructor(
    readonly spec: SandboxSpec,
    private readonly launcher: FakeLauncher,
  ) {
    super();
    const size = vmSizeFor(spec);
    this.info = { id: spec.id, vmm: 'qemu', pid: 1000 + launcher.launched, accel: 'tcg', vcpus: size.vcpus, memoryMib: size.memoryMib, guestIp: spec.network?.guestIp ?? null };
  }

  /** Plays the script chosen by argv, asynchronously, as the agent's messages would arrive. */
  run(): void {
    const [cmd, ...rest] = this.spec.process.argv;
    const later = (f: () => void): void => void setImmediate(() => this.alive && !this.detached && f());
    const start = () => {
      this.started = true;
      this.emit('started', { pid: 1 });
    };
    const print = (text: string, stream: 'stdout' | 'stderr' = 'stdout') =>
      this.emit('output', { stream, timestamp: new Date(), data: Buffer.from(text) });
    switch (cmd) {
      case 'echo':
        return later(() => {
          start();
          print(rest.join(' ') + '\n');
          print('to stderr\n', 'stderr');
          later(() => this.finish({ code: 0, signal: null }));
        });
      case 'exit':
        return later(() => {
          start();
          later(() => this.finish({ code: Number(rest[0]), signal: null }));
        });
      case 'print-exit':
        return later(() => {
          start();
          print(`${rest[0]}\n`);
          print(`${rest[1]}\n`, 'stderr');
          later(() => this.finish({ code: Number(rest[2]), signal: null }));
        });
      case 'sleep':
        return later(start);
      case 'print-sleep':
        return later(() => {
          start();
          for (const l of rest) print(l + '\n');
        });
      case 'crash':
        return later(() => {
          start();
          later(() => this.finish(null));
        });
      case 'oom':
        return later(() => {
          start();
          later(() => this.finish({ code: 137, signal: 9, oomKilled: true }));
        });
      case 'badexec':
        return later(() => {
          this.emit('agentError', { code: 3, message: `exec ${cmd}: not found` });
          this.finish({ code: 127, signal: null });
        });
      case 'hang':
        return;
      case 'cat':
        return later(start);
      default:
        throw new Error(`fake sandbox: unknown command ${cmd}`);
    }
  }

  /** The process ends (exit null: the VM dies without telling) and the VMM goes. */
  finish(exit: ProcessExit | null): void {
    if (!this.alive) return;
    this.exit = exit;
    if (exit) this.emit('exit', exit);
    this.alive = false;
    for (const e of this.execs) e.end(null);
    this.emit('gone', { reason: exit ? 'powered off' : 'crashed' });
    for (const w of this.goneWaiters.splice(0)) w(exit);
  }

  async stop(o: { signal: number; graceMs: number }): Promise<void> {
    this.launcher.stops.push({ id: this.spec.id, ...o });
    if (this.alive) this.finish(this.started ? { code: 128 + o.signal, signal: o.signal } : null);
  }
  async signal(signo: number): Promise<void> {
    this.signals.push(signo);
    if (!this.alive || !this.started || IGNORED_SIGNALS.has(signo)) return;
    // No fake process handles a signal: it dies of it, reported a moment later, as the agent would.
    setImmediate(() => this.alive && !this.detached && this.finish({ code: 128 + signo, signal: signo }));
  }
  writeStdin(data: Buffer): void {
    if (!this.alive || !this.started || !this.spec.process.stdin || this.stdinEnded) return;
    this.stdin.push(Buffer.from(data));
    if (this.spec.process.argv[0] !== 'cat') return;
    const copy = Buffer.from(data);
    setImmediate(() => this.alive && !this.detached && this.emit('output', { stream: 'stdout', timestamp: new Date(), data: copy }));
  }
  endStdin(): void {
    if (!this.alive || !this.started || !this.spec.process.stdin || this.spec.process.tty) return;
    this.stdinEnded = true;
    if (this.spec.process.argv[0] === 'cat') setImmediate(() => this.alive && !this.detached && this.finish({ code: 0, signal: null }));
  }
  resize(rows: number, cols: number): void {
    if (this.alive && this.started && this.spec.process.tty) this.resizes.push({ rows, cols });
  }
  async exec(spec: ExecSpec): Promise<ExecSession> {
    if (!this.alive || !this.started || this.paused) {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONTAINER_STATE', 'the process is not running');
    }
    const session = new FakeExecSession(this.execs.length + 1, spec);
    this.execs.push(session);
    session.play();
    return session;
  }
  /** The container's files for copies: absolute path -> a file's bytes, or null for a directory. */
  readonly files = new Map<string, { content: Buffer | null; mode: number }>([
    ['/', { content: null, mode: 0o755 }],
    ['/etc', { content: null, mode: 0o755 }],
    ['/etc/hostname', { content: Buffer.from('fake\n'), mode: 0o644 }],
    ['/tmp', { content: null, mode: 0o1777 }],
  ]);
  private copyable(): void {
    if (!this.alive || !this.started || this.paused) throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONTAINER_STATE', 'the process is not running');
  }
  private found(path: string): { path: string; content: Buffer | null; mode: number } {
    const p = posix.resolve('/', path);
    const f = this.files.get(p);
    if (!f) throw new HearthError('NotFound', 'HEARTH_ERR_PATH_NOT_FOUND', `Could not find the file ${path} in container`);
    return { path: p, ...f };
  }
  async stat(path: string): Promise<PathStat> {
    this.copyable();
    const f = this.found(path);
    const mode = (f.content ? 0o100000 : 0o040000) | f.mode;
    return { name: posix.basename(f.path) || '/', size: f.content?.length ?? 4096, mode, mtime: new Date(1_700_000_000_000), linkTarget: '' };
  }
  async copyOut(path: string): Promise<Readable> {
    this.copyable();
    const f = this.found(path);
    const base = posix.basename(f.path) || '.';
    const entries: TarSpec[] = [];
    for (const [p, e] of this.files) {
      if (p !== f.path && !p.startsWith(f.path === '/' ? '/' : `${f.path}/`)) continue;
      const name = posix.join(base, posix.relative(f.path, p));
      entries.push(e.content ? { path: name, content: e.content, mode: e.mode } : { path: name, type: 'dir', mode: e.mode });
    }
    return Readable.from([makeTar(entries)]);
  }
  async copyIn(dir: string, tar: Readable): Promise<void> {
    this.copyable();
    const d = this.found(dir);
    if (d.content) throw new HearthError('InvalidArgument', 'HEARTH_ERR_COPY_INVALID', 'extraction point is not a directory');
    try {
      await readTar(tar, async (entry, body) => {
        const p = posix.join(d.path, posix.resolve('/', entry.path));
        if (entry.type === 'dir') this.files.set(p, { content: null, mode: entry.mode });
        else if (entry.type === 'file') {
          const chunks: Buffer[] = [];
          for await (const c of body.chunks()) chunks.push(c);
          this.files.set(p, { content: Buffer.concat(chunks), mode: entry.mode });
        }
      });
    } catch (e) {
      throw new HearthError('InvalidArgument', 'HEARTH_ERR_COPY_INVALID', `the archive is not a tar file: ${(e as Error).message}`);
    }
  }
  async top(): Promise<GuestProcess[]> {
    if (!this.alive || this.paused) throw new HearthError('Unavailable', 'HEARTH_ERR_AGENT_UNRESPONSIVE', 'the guest agent does not answer');
    const main = { pid: 1, ppid: 0, user: this.spec.process.user || 'root', command: this.spec.process.argv.join(' '), cpuTimeMs: 61_500, rssBytes: 4 << 20 };
    const execs = this.execs.filter((e) => e.running).map((e) => ({ pid: e.pid, ppid: 1, user: e.spec.user || 'root', command: e.spec.argv.join(' '), cpuTimeMs: 10, rssBytes: 1 << 20 }));
    return [main, ...execs];
  }
  /** Fixed figures, but the limit: the spec's memory. */
  async stats(): Promise<SandboxStats> {
    if (!this.alive || !this.started || this.paused) throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONTAINER_STATE', 'the process is not running');
    return {
      at: new Date(),
      guest: {
        cpuUsageUsec: 1500, cpuUserUsec: 1000, cpuSystemUsec: 500, memoryUsageBytes: 4 << 20, memoryLimitBytes: this.spec.memoryMib * 2 ** 20,
        memoryAnonBytes: 3 << 20, memoryFileBytes: 1 << 20, memoryInactiveFileBytes: 1 << 19, oomKills: 0, pids: 1 + this.execs.filter((e) => e.running).length,
        guestCpuUsec: 10_000_000, onlineCpus: this.info.vcpus,
      },
      vmm: { cpuUserNs: 2e9, cpuSystemNs: 1e9, residentBytes: 120 << 20, privateBytes: 90 << 20, disks: [{ id: 'rootfs', readBytes: 4096, writeBytes: 0, readOps: 1, writeOps: 0, flushOps: 0 }, { id: 'scratch', readBytes: 0, writeBytes: 8192, readOps: 0, writeOps: 2, flushOps: 1 }] },
    };
  }
  async pause(): Promise<void> {
    this.paused = true;
  }
  async resume(): Promise<void> {
    this.paused = false;
  }
  async kill(): Promise<void> {
    if (this.alive) this.finish(this.started ? { code: 137, signal: 9 } : null);
  }
  wait(): Promise<ProcessExit | null> {
    if (!this.alive) return Promise.resolve(this.exit);
    return new Promise((r) => this.goneWaiters.push(r));
  }
  async release(): Promise<void> {
    if (this.alive) throw new Error(`release of VM ${this.spec.id} while it runs`);
    if (this.launcher.failRelease) throw new HearthError('Internal', 'HEARTH_ERR_VMM_STUCK', this.launcher.failRelease);
    this.released = true;
    this.launcher.runDirs.delete(this.spec.id);
  }
  detach(): void {
    this.detached = true;
    this.removeAllListeners();
  }
}

/** Writable layers as empty files (the fake launcher writes none); `ensured` lists each path asked for. */
export class FakeWritableLayers implements WritableLayers {
  readonly ensured: string[] = [];

  async ensure(path: string): Promise<void> {
    this.ensured.push(path);
    if (existsSync(path)) return;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
  }
}

export class FakeLauncher implements SandboxLauncher {
  /** VM ids with a run directory on the "host". */
  readonly runDirs = new Set<string>();
  readonly vms = new Map<string, FakeSandbox>();
  readonly stops: Array<{ id: string; signal: number; graceMs: number }> = [];
  readonly purged: string[] = [];
  launched = 0;
  launchGate?: Gate;
  failLaunch?: string;
  /** What a sandbox's release throws instead (its run directory stays), until cleared. */
  failRelease?: string;

  async launch(spec: SandboxSpec): Promise<Sandbox> {
    this.runDirs.add(spec.id);
    await this.launchGate?.pass();
    if (this.failLaunch) throw new HearthError('Unavailable', 'HEARTH_ERR_VMM', this.failLaunch);
    if (this.vms.get(spec.id)?.alive) throw new Error(`VM ${spec.id} launched twice`);
    this.launched++;
    spec.onStep?.('scratch');
    spec.onStep?.('vmm');
    const sb = new FakeSandbox(spec, this);
    this.vms.set(spec.id, sb);
    sb.run();
    spec.onStep?.('connect');
    spec.onStep?.('hello');
    return sb;
  }
  /** What adopting a VM throws instead (a paused or silent VM), until deleted. */
  readonly adoptFailures = new Map<string, Error>();

  async adopt(id: string, options?: { acceptPaused?: boolean }): Promise<Sandbox | undefined> {
    const failure = this.adoptFailures.get(id);
    if (failure) throw failure;
    const sb = this.vms.get(id);
    if (!sb?.alive) return undefined;
    if (sb.paused && !options?.acceptPaused) throw new HearthError('Unavailable', 'HEARTH_ERR_VMM_PAUSED', `VM ${id} is paused`);
    sb.detached = false;
    return sb;
  }
  async list(): Promise<string[]> {
    return [...this.runDirs];
  }
  async exitOf(id: string): Promise<ProcessExit | null> {
    return this.runDirs.has(id) ? (this.vms.get(id)?.exit ?? null) : null;
  }
  /** As the real one: ends the VM if it still runs, whatever records of it are left, then removes its run directory. */
  async purge(id: string): Promise<void> {
    this.purged.push(id);
    await this.vms.get(id)?.kill();
    this.runDirs.delete(id);
  }
  alive(): FakeSandbox[] {
    return [...this.vms.values()].filter((v) => v.alive);
  }
}
