/**
 * The web UI: `GET /` answers the shell (index.html) and `GET /ui/{file}` the bundle esbuild wrote to dist/ui/
 * (scripts/build.sh). Both are open routes (src/api/auth.ts): they hold code, not data; every call the UI makes
 * carries the token. Only a file the bundle directory lists by that exact name is served, so no spelling of a
 * path (`..`, encoded or not, a slash) reaches anything else. A file with a `.gz` twin is sent compressed to a
 * client that accepts gzip. Every answer carries a content security policy without inline scripts.
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../errors.ts';

/** Where scripts/build.sh writes the bundle: dist/ui/ of the checkout (from src/api/ and dist/api/ alike). */
export const UI_DIR = fileURLToPath(new URL('../../dist/ui', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Scripts from this origin only, none inline; styles may be set inline (xterm and uPlot size their parts so). */
export const UI_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function uiRoutes(app: FastifyInstance, dir = UI_DIR): void {
  const schema = { hide: true, security: [] };
  app.get('/', { schema }, (req, reply) => serve(dir, 'index.html', req, reply));
  app.get<{ Params: { '*': string } }>('/ui/*', { schema }, (req, reply) => serve(dir, req.params['*'], req, reply));
}

async function serve(dir: string, name: string, req: FastifyRequest, reply: FastifyReply) {
  const files = await readdir(dir).catch(() => undefined);
  if (files === undefined) {
    throw new HearthError('Unavailable', 'HEARTH_ERR_UI_NOT_BUILT', `the web UI is not built (no ${dir}): run scripts/build.sh`);
  }
  const type = TYPES[path.extname(name)];
  if (!files.includes(name) || type === undefined) {
    throw new HearthError('NotFound', 'HEARTH_ERR_ROUTE_NOT_FOUND', `no route GET ${req.url.split('?')[0]}`);
  }
  const gzip = files.includes(`${name}.gz`) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = await readFile(path.join(dir, gzip ? `${name}.gz` : name));
  void reply.headers(UI_SECURITY_HEADERS).header('vary', 'accept-encoding').type(type);
  if (gzip) void reply.header('content-encoding', 'gzip');
  return reply.send(body);
}
