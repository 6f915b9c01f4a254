/**
 * The API token. It is checked after routing, on the route the router matched (Fastify's onRequest runs
 * once a route is chosen), so what is checked is exactly what will run, whatever the URL looked like:
 * `/%761/containers` routes to `/v1/containers` and needs the token as that route does. A check on the URL
 * string would have to decode it exactly as the router does, and did not.
 *
 * Default deny: every route needs the token except the few in OPEN_ROUTES, told apart by the matched route's
 * pattern. A request that matches no route (404) or cannot be routed at all (bad percent-encoding, an
 * over-long parameter) needs it too, so a caller without it learns nothing about what exists.
 *
 * Browsers cannot set headers on a WebSocket, so an upgrade request may carry the token as a subprotocol
 * instead: `Sec-WebSocket-Protocol: hearth, bearer.<token as base64url>` (the header only takes token
 * characters, hence the encoding). The server then selects `hearth` (WS_PROTOCOL), never the token. Only
 * upgrade requests are read this way: a plain request still needs `Authorization`.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../errors.ts';
import { errorHandler } from './error-handler.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered (one row per method), open or not: what the authentication test sweeps. */
    routeTable: ReadonlyArray<{ method: string; url: string; open: boolean }>;
  }
}

/**
 * Route patterns anyone may call: liveness, the API description, /docs (the page and its assets), and the web
 * UI's static shell and bundle (`/` and `/ui/...`: code and styles, no data; every call it makes needs the token).
 */
const OPEN_ROUTES = new Set(['/health', '/openapi.json', '/docs', '/']);
const OPEN_PREFIXES = ['/docs/', '/ui/'];

export function isOpenRoute(pattern: string): boolean {
  return OPEN_ROUTES.has(pattern) || OPEN_PREFIXES.some((p) => pattern.startsWith(p));
}

/** The subprotocol a WebSocket that sent its token that way is answered with. */
export const WS_PROTOCOL = 'hearth';
const WS_TOKEN_PREFIX = 'bearer.';

/**
 * The token a WebSocket upgrade carries in `Sec-WebSocket-Protocol`, as an `Authorization` value, or undefined.
 * Only for upgrade requests (`Upgrade: websocket`).
 */
export function webSocketAuthorization(headers: FastifyRequest['headers']): string | undefined {
  if ((headers.upgrade ?? '').toLowerCase() !== 'websocket') return undefined;
  const offered = String(headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carried = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX));
  return carried === undefined ? undefined : `Bearer ${Buffer.from(carried.slice(WS_TOKEN_PREFIX.length), 'base64url').toString('utf8')}`;
}

/** The `handleProtocols` of the WebSocket server: `hearth` if offered (never echoes the token), else none. */
export function selectWebSocketProtocol(protocols: Set<string>): string | false {
  return protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false;
}

/** Records every route as it is registered; call before registering any (plugins' routes included). */
export function recordRoutes(app: FastifyInstance): void {
  const table: Array<{ method: string; url: string; open: boolean }> = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) table.push({ method, url: route.url, open: isOpenRoute(route.url) });
  });
}

export interface BearerAuth {
  /** The onRequest hook. */
  onRequest(req: FastifyRequest): Promise<void>;
  /** Fastify's `frameworkErrors`: the URL could not be routed; without the token the answer is 401. */
  onFrameworkError(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void;
}

/** Whether an `Authorization` header carries `Bearer <token>`. */
export function bearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  // Digests have one length whatever was sent, so the comparison is constant-time and leaks no length.
  return (authorization) => {
    const m = /^Bearer (.*)$/i.exec(authorization ?? '');
    return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
  };
}

/** Requires `Authorization: Bearer <token>` on every route but the open ones. */
export function bearerAuth(token: string): BearerAuth {
  const check = bearerCheck(token);
  const hasToken = (req: FastifyRequest) => check(req.headers.authorization) || check(webSocketAuthorization(req.headers));
  return {
    async onRequest(req) {
      const route = req.is404 ? undefined : req.routeOptions.url;
      if (route !== undefined && isOpenRoute(route)) return;
      if (!hasToken(req)) throw unauthenticated();
    },
    onFrameworkError(error, req, reply) {
      errorHandler(hasToken(req) ? error : unauthenticated(), req, reply);
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function unauthenticated(): HearthError {
  return new HearthError('Unauthenticated', 'HEARTH_ERR_UNAUTHENTICATED', 'missing or wrong API token (Authorization: Bearer <token>)');
}
