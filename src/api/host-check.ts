/**
 * Without an API token the manager trusts loopback: whoever reaches 127.0.0.1 may drive it. Web pages reach
 * loopback too, and are not to be trusted with it:
 * - by DNS rebinding, a page's own name resolved again to 127.0.0.1 makes the browser send the page's requests
 *   as same-origin ones, the page's name in their `Host` header: so `Host` must name this machine (a loopback
 *   address, `localhost` or a name under it, or the machine's own host name, which Debian resolves to 127.0.1.1);
 * - addressed to 127.0.0.1 directly, a page may still open a WebSocket (browsers apply no CORS to them: an
 *   attached shell could be typed into) or send a POST without a body (no preflight: a prune, a stop), with its
 *   own `Origin`: so a request carrying an `Origin` must come from this very origin (the web UI), and one a
 *   browser marks `Sec-Fetch-Site: cross-site` or `same-site` is refused. Programs (curl, the hearth CLI, the
 *   docker CLI on its own socket) send neither header.
 * Anything else is a 403 before routing. With a token, a page has no token to send, and none of this is needed.
 * @module
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { HearthError } from '../errors.ts';

/** The host part of a Host header: `[::1]:18080` -> `::1`, `localhost:18080` -> `localhost`. */
function hostPart(header: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(header);
  if (bracketed) return bracketed[1]!;
  return header.replace(/:\d*$/, '').replace(/\.$/, '').toLowerCase();
}

/** `ownName`: the machine's host name, asked of the system only for a Host that is neither an address nor localhost. */
export function isLocalHostHeader(header: string | undefined, ownName?: string): boolean {
  if (header === undefined || header === '') return false;
  const host = hostPart(header.trim());
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return host === 'localhost' || host.endsWith('.localhost') || host === (ownName ?? hostname()).toLowerCase();
}

/** The origin a browser says the request comes from is this server's own (`Origin` names the `Host`). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && host !== undefined && u.host === host.toLowerCase();
  } catch {
    return false; // `null` (a sandboxed frame, a file) and anything unparsable
  }
}

const refuse = (why: string) =>
  new HearthError('PermissionDenied', 'HEARTH_ERR_HOST_NOT_ALLOWED', `${why}; set HEARTH_API_TOKEN to serve other names and origins`);

/** The onRequest hook: refuses what a web page of another site could send to a tokenless manager. */
export async function requireLocalHost(req: FastifyRequest): Promise<void> {
  const { host, origin } = req.headers;
  if (!isLocalHostHeader(host)) {
    throw refuse(
      `Host ${JSON.stringify(host ?? '')} is not this machine: without an API token the manager answers only requests ` +
        'addressed to 127.0.0.1, localhost or its own host name (a page of another site may not reach it through its own name)',
    );
  }
  const site = req.headers['sec-fetch-site'];
  if ((origin !== undefined && !sameOrigin(origin, host)) || site === 'cross-site' || site === 'same-site') {
    throw refuse(`a request from the web page ${JSON.stringify(origin ?? site)} is refused: without an API token only this manager's own pages and programs (no Origin) may call it`);
  }
}
