/**
 * The Engine API's hijacked connections (attach, exec start): the CLI sends `Connection: Upgrade` and
 * `Upgrade: tcp`, the daemon answers `101 UPGRADED` and from then on the connection carries the process's
 * output one way and its stdin the other, half-closed by the client when its stdin ends. Node hands such a
 * request to the server's `upgrade` listener with the HTTP parser detached, so it is routed here, beside
 * Fastify; the same handlers also serve a request that asked for no upgrade (curl): a `200` whose body is
 * the output until the end, without stdin.
 * @module
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DockerError, toDockerResponse } from './errors.ts';
import { checkApiVersion, stripVersion, apiVersionOf, API_VERSION } from './version.ts';

/** The output side of a hijacked connection, and its input when the client upgraded. */
export interface HijackedStream {
  /** What the client sends after the request (stdin); undefined without an upgrade. */
  input: Readable | undefined;
  /** False when the client cannot take more now (wait for `drain`). */
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): void;
  end(): void;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

export interface HijackRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  raw: IncomingMessage;
}

/** An ordinary answer, for a handler that does not stream (exec start with `Detach`). */
export interface PlainAnswer {
  status: number;
  body?: unknown;
}

/**
 * Validates and throws before calling `open`; after `open` the connection is the handler's to end. A handler
 * that returns an answer without opening gets it sent as an ordinary response.
 */
export type HijackHandler = (req: HijackRequest, open: (contentType: string) => HijackedStream) => Promise<PlainAnswer | void>;

interface HijackRoute {
  pattern: RegExp;
  names: string[];
  handler: HijackHandler;
}

const MAX_BODY = 1024 * 1024;

export class HijackRouter {
  private readonly routes: HijackRoute[] = [];
  /** Upgraded connections, which the HTTP server no longer counts: ended on close. */
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly log: FastifyBaseLogger) {}

  /** `path` as Fastify's (`/exec/:id/start`); served both upgraded and as a Fastify POST route. */
  add(app: FastifyInstance, path: string, handler: HijackHandler): void {
    const names: string[] = [];
    const source = path.replace(/:(\w+)/g, (_, name: string) => (names.push(name), '([^/]+)'));
    this.routes.push({ pattern: new RegExp(`^${source}$`), names, handler });
    app.post(path, (request, reply) => serveWithoutUpgrade(handler, request, reply));
  }

  /** The server's `upgrade` listener. */
  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // The client half-closes when its stdin ends (or at once when it sends none) and keeps reading. A TLS
    // socket (the TCP door with certificates) would end its writing side too at that close_notify; a plain
    // socket's server already allows half-open connections.
    if ('encrypted' in socket) (socket as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    let opened = false;
    const open = (contentType: string) => ((opened = true), upgradedStream(socket, contentType));
    void this.serveUpgrade(req, socket, head, open).catch((e: unknown) => {
      const [status] = toDockerResponse(e);
      if (status >= 500 && status !== 501) this.log.error({ err: e, url: req.url }, 'docker API upgrade failed');
      if (opened) socket.end();
      else writeError(socket, e);
    });
  };

  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private async serveUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    open: (contentType: string) => { stream: (rest: Buffer) => HijackedStream },
  ): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(stripVersion(req), 'http://docker');
    checkApiVersion(apiVersionOf(req));
    const path = url.pathname;
    const route = req.method === 'POST' ? this.routes.find((r) => r.pattern.test(path)) : undefined;
    if (!route) throw new DockerError(501, `not implemented by Hearth: ${req.method} ${path} with Upgrade`);
    const m = route.pattern.exec(path)!;
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    const [body, rest] = await readBody(req, socket, head);
    const request: HijackRequest = { params, query: url.searchParams, body, raw: req };
    const answer = await route.handler(request, (contentType) => open(contentType).stream(rest));
    if (answer) writeAnswer(socket, answer.status, answer.body);
  }
}

/** Reads a Content-Length body that follows the headers; what comes after it is the client's stream. */
async function readBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<[unknown, Buffer]> {
  if (req.headers['transfer-encoding']) throw new DockerError(400, 'a chunked body is not accepted with Upgrade');
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length < 0 || length > MAX_BODY) throw new DockerError(400, 'bad Content-Length');
  let buffered = head;
  while (buffered.length < length) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (b: Buffer) => done(b);
      const onEnd = () => done(null);
      const done = (b: Buffer | null) => {
        socket.off('data', onData).off('end', onEnd).off('close', onEnd);
        socket.pause();
        resolve(b);
      };
      socket.on('data', onData).once('end', onEnd).once('close', onEnd);
      socket.resume();
    });
    if (chunk === null) throw new DockerError(400, 'the connection ended inside the request body');
    buffered = Buffer.concat([buffered, chunk]);
  }
  const text = buffered.subarray(0, length).toString('utf8');
  let body: unknown;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    throw new DockerError(400, 'the request body is not valid JSON');
  }
  return [body, buffered.subarray(length)];
}

function upgradedStream(socket: Duplex, contentType: string): { stream: (rest: Buffer) => HijackedStream } {
  return {
    stream(rest) {
      socket.write(
        `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
          `Api-Version: ${API_VERSION}\r\n\r\n`,
      );
      const input = new PassThrough();
      if (rest.length > 0) input.write(rest);
      socket.pipe(input);
      return socketStream(socket, input);
    },
  };
}

function socketStream(socket: Duplex, input: Readable | undefined): HijackedStream {
  const gone = new AbortController();
  socket.once('close', () => gone.abort());
  return {
    input,
    write: (chunk) => (socket.destroyed ? true : socket.write(chunk)),
    once: (event, listener) => void socket.once(event, listener),
    end: () => {
      if (!socket.destroyed) socket.end();
    },
    signal: gone.signal,
  };
}

async function serveWithoutUpgrade(handler: HijackHandler, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const query = new URLSearchParams(request.query as Record<string, string>);
  const req: HijackRequest = { params: request.params as Record<string, string>, query, body: request.body, raw: request.raw };
  const answer = await handler(req, (contentType) => {
    void reply.hijack();
    const socket = request.raw.socket;
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n`);
    return socketStream(socket, undefined);
  });
  if (answer) await reply.code(answer.status).send(answer.body ?? '');
}

/** An error before the upgrade, as an ordinary response; after it the stream is simply ended. */
function writeError(socket: Duplex, e: unknown): void {
  if (socket.destroyed) return;
  const [status, body] = toDockerResponse(e);
  writeAnswer(socket, status, body);
}

function writeAnswer(socket: Duplex, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nApi-Version: ${API_VERSION}\r\n` +
      `Connection: close\r\n\r\n${text}`,
  );
}
