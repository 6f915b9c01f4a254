/**
 * The API token, attacked the way the adversarial test did: every registered route (read from the app, so a
 * new route is swept without anyone listing it), each path spelt many ways (percent-encoded letters and
 * digits in either case, doubled and trailing slashes, `;` and `?` suffixes, dot segments), every method,
 * with no token, a wrong one and the right one. A protected route must answer 401 to every spelling without
 * the right token, and never 401 with it. Through `inject`, then over a real socket for a few spellings
 * (the HTTP parser in front of the router is Node's there, not light-my-request's).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_PARAM_LENGTH } from '../../src/app.ts';
import { harness, type Harness } from '../containers/harness.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { spellings } from '../helpers/url-spellings.ts';

const TOKEN = 'a-long-enough-secret-token';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
const TOKENS: Record<string, string | undefined> = {
  none: undefined,
  wrong: `Bearer ${TOKEN.slice(0, -1)}x`,
  longer: `Bearer ${TOKEN}x`,
  shorter: `Bearer ${TOKEN.slice(0, -1)}`,
  'no scheme': TOKEN,
  basic: `Basic ${TOKEN}`,
};
const RIGHT = `Bearer ${TOKEN}`;

/** What anyone may call, written out here rather than read from src/api/auth.ts, so the two are checked against each other. */
const isOpen = (pattern: string) =>
  ['/health', '/openapi.json', '/docs', '/'].includes(pattern) || pattern.startsWith('/docs/') || pattern.startsWith('/ui/');

/** Routes that stream until the client goes, and the query that makes them answer and end (so the sweep can await them). */
const FINITE: Record<string, Record<string, string>> = { '/v1/events': { until: '0' } };

/** A concrete path for a route pattern: a short id for parameters (unknown: 404 with the token), a file for a wildcard. */
const concrete = (pattern: string) => pattern.replace(/:[a-z]+/g, 'Ab1').replace(/\*$/, 'index.css');

describe('API token', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ config: { apiToken: TOKEN, listen: { host: '0.0.0.0', port: 18080 } } });
  });
  after(() => h.close());

  it('the route table holds every route, the documented ones and the plugins\' ones', async () => {
    const patterns = new Set(h.app.routeTable.map((r) => r.url));
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    for (const p of Object.keys(doc.paths)) assert.ok(patterns.has(p.replace(/\{(\w+)\}/g, ':$1')), `${p} in the route table`);
    for (const p of ['/health', '/openapi.json', '/docs', '/docs/static/*', '/', '/ui/*']) assert.ok(patterns.has(p), `${p} in the route table`);
    for (const r of h.app.routeTable) assert.equal(r.open, isOpen(r.url), `${r.method} ${r.url} open?`);
    assert.ok(h.app.routeTable.filter((r) => !r.open).length >= 13, 'the /v1 routes are protected');
  });

  it('every protected route is 401 without the right token, whatever the spelling and method, and not 401 with it', async () => {
    const urls = [...new Set(h.app.routeTable.map((r) => r.url))];
    // A spelling with dot segments (`/metrics/%2E%2E/`) is routed to `/`, the web UI's open shell: it gets exactly
    // what `/` answers anyone, nothing of the protected route.
    const shell = new Map<string, { status: number; body: string }>();
    for (const method of METHODS) {
      const r = await h.app.inject({ method, url: '/' });
      if (r.statusCode !== 401) shell.set(method, { status: r.statusCode, body: r.body });
    }
    assert.ok(shell.has('GET'), 'GET / is open');
    const isShell = (method: string, r: { statusCode: number; body: string }) =>
      shell.get(method)?.status === r.statusCode && shell.get(method)?.body === r.body;
    let protectedTried = 0;
    let shellTried = 0;
    for (const pattern of urls) {
      const path = concrete(pattern);
      const query = FINITE[pattern];
      for (const url of spellings(path)) {
        for (const method of METHODS) {
          const withToken = await h.app.inject({ method, url, query, headers: { authorization: RIGHT } });
          assert.notEqual(withToken.statusCode, 401, `${method} ${url} with the token: ${withToken.body}`);
          for (const [what, authorization] of Object.entries(TOKENS)) {
            const res = await h.app.inject({ method, url, query, headers: authorization ? { authorization } : {} });
            if (isOpen(pattern)) {
              // Either it reaches the open route (as with the token) or it reaches nothing open: 401.
              assert.ok([401, withToken.statusCode].includes(res.statusCode), `${method} ${url} (${what}): ${res.statusCode}`);
            } else if (isShell(method, res)) {
              assert.match(url, /(%2e|\.)(%2e|\.)/i, `${method} ${url} answered the shell: only a dot-segment spelling routes there`);
              shellTried++;
            } else {
              protectedTried++;
              assert.equal(res.statusCode, 401, `${method} ${url} with ${what} token: ${res.statusCode} ${res.body.slice(0, 200)}`);
              if (method !== 'HEAD') assert.equal(res.json().error.code, 'HEARTH_ERR_UNAUTHENTICATED');
              assert.equal(res.headers['www-authenticate'], 'Bearer');
            }
          }
        }
      }
    }
    assert.ok(protectedTried > 10_000, `swept ${protectedTried} unauthenticated requests to protected routes`);
    assert.ok(shellTried < protectedTried / 10, `${shellTried} spellings resolved to the shell`);
  });

  it('the decoded spellings reach the protected routes with the token (the sweep is not all 404s)', async () => {
    for (const url of ['/%761/containers', '/v%31/containers', '/%76%31/containers', '/%76%31/%63ontainers', '/v1/vm%73']) {
      const none = await h.app.inject({ url });
      assert.equal(none.statusCode, 401, url);
      const ok = await h.app.inject({ url, headers: { authorization: RIGHT } });
      assert.equal(ok.statusCode, 200, `${url}: ${ok.body}`);
      assert.ok(Array.isArray(ok.json().items));
    }
  });

  it('open routes answer without a token; the scheme is case-insensitive', async () => {
    assert.deepEqual((await h.app.inject({ url: '/health' })).json(), { status: 'ok' });
    assert.equal((await h.app.inject({ url: '/openapi.json' })).statusCode, 200);
    assert.equal((await h.app.inject({ url: '/docs/' })).statusCode, 200);
    assert.equal((await h.app.inject({ url: '/docs/static/index.css' })).statusCode, 200);
    assert.equal((await h.app.inject({ method: 'POST', url: '/health' })).statusCode, 401, 'no route: the token is needed');
    const lower = await h.app.inject({ url: '/v1/containers', headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(lower.statusCode, 200);
  });

  it('a URL the router cannot route is 401 without the token, and the usual error body with it', async () => {
    for (const [url, status, code] of [
      ['/v1/containers/%', 400, 'HEARTH_ERR_INVALID_ARGUMENT'],
      [`/v1/containers/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`, 414, 'HEARTH_ERR_URI_TOO_LONG'],
      ['/nothing/here', 404, 'HEARTH_ERR_ROUTE_NOT_FOUND'],
      // the longest reference the schemas accept, URL-encoded, is routed (414 only beyond it)
      [`/v1/images/${encodeURIComponent(`registry.example.com/team/${'a'.repeat(MAX_PARAM_LENGTH - 29)}:v1`)}`, 404, 'HEARTH_ERR_IMAGE_NOT_FOUND'],
    ] as const) {
      const none = await h.app.inject({ url });
      assert.equal(none.statusCode, 401, `${url}: ${none.body}`);
      assert.equal(none.json().error.code, 'HEARTH_ERR_UNAUTHENTICATED');
      const ok = await h.app.inject({ url, headers: { authorization: RIGHT } });
      assert.equal(ok.statusCode, status, `${url}: ${ok.body}`);
      assert.equal(ok.json().error.code, code);
    }
  });

  it('over a real socket, encoded spellings are 401 without the token and routed with it', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (h.app.server.address() as AddressInfo).port;
    const rawStatus = async (method: string, path: string, authorization?: string) =>
      (await rawRequest(port, method, path, authorization ? { authorization } : {})).status;
    const paths = ['/%761/containers', '/v%31/containers', '/%76%31/containers', '/v1/%63ontainers', '/v1/containers/', '//v1/containers', '/v1/./containers', '/v1/containers;x', '/v1/containers?x=1', '/V1/containers', '/v1/containers/%'];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        assert.equal(await rawStatus(method, path), 401, `${method} ${path}`);
        assert.equal(await rawStatus(method, path, `Bearer ${TOKEN}x`), 401, `${method} ${path} (wrong token)`);
        assert.notEqual(await rawStatus(method, path, RIGHT), 401, `${method} ${path} (right token)`);
      }
    }
    assert.equal(await rawStatus('GET', '/%761/containers', RIGHT), 200);
    assert.equal(await rawStatus('GET', '/health'), 200);
  });
});
