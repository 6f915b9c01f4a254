/**
 * Without an API token the manager trusts loopback: whoever reaches 127.0.0.1 may drive it. A web page may
 * too, by DNS rebinding: its own name, resolved again to 127.0.0.1, makes the browser send the page's requests
 * to the manager as same-origin ones, the page's name in their `Host` header. So, tokenless on loopback, a
 * request must name this machine in `Host`: a loopback address, `localhost` (or a name under it), or the
 * machine's own host name (Debian resolves it to 127.0.1.1). Anything else is a 403 before routing. With a
 * token, a rebound page has no token to send, and the check is not needed.
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

export function isLocalHostHeader(header: string | undefined, ownName = hostname()): boolean {
  if (header === undefined || header === '') return false;
  const host = hostPart(header.trim());
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return host === 'localhost' || host.endsWith('.localhost') || host === ownName.toLowerCase();
}

/** The onRequest hook: refuses a request whose Host is not this machine's. */
export async function requireLocalHost(req: FastifyRequest): Promise<void> {
  if (isLocalHostHeader(req.headers.host)) return;
  throw new HearthError(
    'PermissionDenied',
    'HEARTH_ERR_HOST_NOT_ALLOWED',
    `Host ${JSON.stringify(req.headers.host ?? '')} is not this machine: without an API token the manager answers only requests ` +
      'addressed to 127.0.0.1, localhost or its own host name (a page of another site may not reach it through its own name); ' +
      'set HEARTH_API_TOKEN to serve other names',
  );
}
