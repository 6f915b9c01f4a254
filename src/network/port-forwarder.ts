/**
 * Port mappings as userspace proxies in this process: a host port (default on 127.0.0.1) relays to a guest's
 * IP and port. Chosen over DNAT because DNAT does not apply to connections to 127.0.0.1 (without
 * `route_localnet`), and a Node proxy costs nothing measurable next to a tap (see the environment notes).
 *
 * TCP: one upstream connection per accepted connection, bytes piped both ways with backpressure; a FIN from
 * either side is passed on (half-close), an error on either side resets the other. A refused or unreachable
 * guest port resets the client.
 * UDP: one upstream socket per client address:port, so replies find their way back; a session ends after
 * `udpIdleMs` without traffic either way.
 *
 * The host port is bound when `open` resolves and released as soon as `close` is called; `close` also destroys
 * every connection. Errors on connections are reported through `onError`; they never throw out of the process.
 *
 * @example
 * const forwarder = new PortForwarder();
 * const fwd = await forwarder.open({ hostPort: 8080, protocol: 'tcp', targetIp: '10.213.0.2', targetPort: 80 });
 * // ... curl http://127.0.0.1:8080 reaches the guest's port 80
 * await fwd.close();
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { HearthError } from '../errors.ts';

export type PortProtocol = 'tcp' | 'udp';

export interface PortMapping {
  /** Address to listen on; default the forwarder's `defaultHostIp` (127.0.0.1). `0.0.0.0` for all. */
  hostIp?: string;
  /** 0 lets the kernel pick; the handle reports the port it got. */
  hostPort: number;
  protocol: PortProtocol;
  targetIp: string;
  targetPort: number;
}

export type OpenedMapping = Required<PortMapping>;

export interface PortForward {
  /** The mapping as bound (hostIp filled in, hostPort the real port). */
  readonly mapping: OpenedMapping;
  /** Open TCP connections or live UDP sessions. */
  readonly connections: number;
  /** Releases the host port at once and destroys every connection; idempotent. */
  close(): Promise<void>;
}

export interface PortForwarderOptions {
  /** Default 127.0.0.1. */
  defaultHostIp?: string;
  /** A UDP session ends after this long without a datagram either way; default 60 s. */
  udpIdleMs?: number;
  /** Give up connecting to the guest after this long; default 10 s. */
  connectTimeoutMs?: number;
  /** Most UDP sessions per mapping; datagrams from further clients are dropped. Default 1024. */
  maxUdpSessions?: number;
  /** Failures of single connections (the mapping keeps serving). */
  onError?: (error: Error, mapping: OpenedMapping) => void;
}

function invalid(message: string, field: string): HearthError {
  return new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_PORT_MAPPING', message, { field });
}

function validPort(p: number, allowZero: boolean): boolean {
  return Number.isInteger(p) && p >= (allowZero ? 0 : 1) && p <= 65535;
}

function describe(m: { hostIp: string; hostPort: number; protocol: string }): string {
  return `${m.hostIp.includes(':') ? `[${m.hostIp}]` : m.hostIp}:${m.hostPort}/${m.protocol}`;
}

/** Turns a bind failure into the error the API reports. */
function bindError(e: NodeJS.ErrnoException, m: OpenedMapping): HearthError {
  if (e.code === 'EADDRINUSE') {
    return new HearthError(
      'AlreadyExists',
      'HEARTH_ERR_PORT_IN_USE',
      `host port ${m.hostPort} (${describe(m)}) is already in use`,
      { cause: e, field: 'hostPort' },
    );
  }
  if (e.code === 'EADDRNOTAVAIL') {
    return new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_PORT_MAPPING', `${m.hostIp} is not an address of this host`, {
      cause: e,
      field: 'hostIp',
    });
  }
  return new HearthError('Internal', 'HEARTH_ERR_PORT_FORWARD_FAILED', `cannot listen on ${describe(m)}: ${e.message}`, {
    cause: e,
  });
}

export class PortForwarder {
  readonly #options: Required<Omit<PortForwarderOptions, 'onError'>> & Pick<PortForwarderOptions, 'onError'>;
  readonly #open = new Set<PortForward>();

  constructor(options: PortForwarderOptions = {}) {
    this.#options = {
      defaultHostIp: options.defaultHostIp ?? '127.0.0.1',
      udpIdleMs: options.udpIdleMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxUdpSessions: options.maxUdpSessions ?? 1024,
      onError: options.onError,
    };
  }

  /**
   * Binds the host port and starts relaying.
   * @throws HearthError AlreadyExists (HEARTH_ERR_PORT_IN_USE) when the port is bound by anyone, this process
   *   included; InvalidArgument (HEARTH_ERR_NET_INVALID_PORT_MAPPING) for a malformed mapping.
   */
  async open(mapping: PortMapping): Promise<PortForward> {
    const m: OpenedMapping = { ...mapping, hostIp: mapping.hostIp ?? this.#options.defaultHostIp };
    if (m.protocol !== 'tcp' && m.protocol !== 'udp') throw invalid(`protocol must be tcp or udp, not ${String(m.protocol)}`, 'protocol');
    if (net.isIP(m.hostIp) === 0) throw invalid(`hostIp "${m.hostIp}" is not an IP address`, 'hostIp');
    if (net.isIP(m.targetIp) === 0) throw invalid(`targetIp "${m.targetIp}" is not an IP address`, 'targetIp');
    if (!validPort(m.hostPort, true)) throw invalid(`hostPort ${m.hostPort} is not a port number`, 'hostPort');
    if (!validPort(m.targetPort, false)) throw invalid(`targetPort ${m.targetPort} is not a port number`, 'targetPort');
    const fwd = m.protocol === 'tcp' ? await this.#openTcp(m) : await this.#openUdp(m);
    this.#open.add(fwd);
    return fwd;
  }

  /** Every mapping currently open. */
  list(): PortForward[] {
    return [...this.#open];
  }

  /** Closes every mapping (manager shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((f) => f.close()));
  }

  #report(e: Error, m: OpenedMapping): void {
    try {
      this.#options.onError?.(e, m);
    } catch {
      // a failing logger must not take the proxy down
    }
  }

  async #openTcp(m: OpenedMapping): Promise<PortForward> {
    const sockets = new Set<net.Socket>();
    const clients = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = new net.Socket({ allowHalfOpen: true });
      sockets.add(client);
      sockets.add(upstream);
      clients.add(client);
      let connected = false;
      const onError = (side: 'client' | 'guest') => (e: Error) => {
        const where = side === 'guest' && !connected ? 'connecting to the guest' : side;
        this.#report(new Error(`${describe(m)} -> ${m.targetIp}:${m.targetPort}: ${where}: ${e.message}`, { cause: e }), m);
        // Tell the client the guest side failed (RST) rather than a clean end of stream.
        if (!client.destroyed) client.resetAndDestroy();
        upstream.destroy();
      };
      client.on('error', onError('client'));
      upstream.on('error', onError('guest'));
      client.on('close', () => {
        sockets.delete(client);
        clients.delete(client);
        upstream.destroy();
      });
      upstream.on('close', () => {
        sockets.delete(upstream);
        if (!client.destroyed && !connected) client.resetAndDestroy();
      });
      upstream.setTimeout(this.#options.connectTimeoutMs, () => {
        upstream.destroy(new Error(`connecting timed out after ${this.#options.connectTimeoutMs} ms`));
      });
      upstream.once('connect', () => {
        connected = true;
        upstream.setTimeout(0);
      });
      upstream.connect({ host: m.targetIp, port: m.targetPort });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.on('error', (e) => this.#report(e, m));
    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException): void => reject(bindError(e, m));
      server.once('error', fail);
      server.listen({ host: m.hostIp, port: m.hostPort, exclusive: true }, () => {
        server.off('error', fail);
        resolve();
      });
    });
    const bound: OpenedMapping = { ...m, hostPort: (server.address() as net.AddressInfo).port };
    let closing: Promise<void> | undefined;
    const fwd: PortForward = {
      mapping: bound,
      get connections() {
        return clients.size;
      },
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          this.#open.delete(fwd);
          server.close(() => resolve()); // stops listening now; calls back once connections are gone
          for (const s of sockets) s.destroy();
          sockets.clear();
          clients.clear();
        });
        return closing;
      },
    };
    return fwd;
  }

  async #openUdp(m: OpenedMapping): Promise<PortForward> {
    interface Session {
      upstream: dgram.Socket;
      timer: NodeJS.Timeout;
    }
    const sessions = new Map<string, Session>();
    const targetFamily = net.isIP(m.targetIp) === 6 ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type: net.isIP(m.hostIp) === 6 ? 'udp6' : 'udp4' });
    let closed = false;

    const end = (key: string): void => {
      const s = sessions.get(key);
      if (s === undefined) return;
      sessions.delete(key);
      clearTimeout(s.timer);
      s.upstream.close();
    };

    socket.on('message', (msg, from) => {
      const key = `${from.address}|${from.port}`;
      let s = sessions.get(key);
      if (s === undefined) {
        if (sessions.size >= this.#options.maxUdpSessions) {
          this.#report(new Error(`${describe(m)}: ${sessions.size} UDP sessions, dropping a datagram from ${key}`), m);
          return;
        }
        const upstream = dgram.createSocket({ type: targetFamily });
        const timer = setTimeout(() => end(key), this.#options.udpIdleMs);
        timer.unref();
        const session: Session = { upstream, timer };
        s = session;
        sessions.set(key, session);
        upstream.on('message', (reply, replyFrom) => {
          if (replyFrom.address !== m.targetIp || replyFrom.port !== m.targetPort || closed) return;
          session.timer.refresh();
          socket.send(reply, from.port, from.address, (e) => {
            if (e) this.#report(e, m);
          });
        });
        upstream.on('error', (e) => {
          this.#report(e, m);
          end(key);
        });
      }
      s.timer.refresh();
      s.upstream.send(msg, m.targetPort, m.targetIp, (e) => {
        if (e) this.#report(e, m);
      });
    });

    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException): void => {
        socket.close();
        reject(bindError(e, m));
      };
      socket.once('error', fail);
      socket.bind({ address: m.hostIp, port: m.hostPort, exclusive: true }, () => {
        socket.off('error', fail);
        resolve();
      });
    });
    socket.on('error', (e) => this.#report(e, m));

    const bound: OpenedMapping = { ...m, hostPort: socket.address().port };
    let closing: Promise<void> | undefined;
    const fwd: PortForward = {
      mapping: bound,
      get connections() {
        return sessions.size;
      },
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          closed = true;
          this.#open.delete(fwd);
          for (const key of [...sessions.keys()]) end(key);
          socket.close(() => resolve());
        });
        return closing;
      },
    };
    return fwd;
  }
}
