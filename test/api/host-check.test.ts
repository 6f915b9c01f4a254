/**
 * Web pages against a tokenless manager: a request addressed to another name than this machine's (DNS
 * rebinding), or sent by a page of another origin (its Origin, its Sec-Fetch-Site), is refused before routing,
 * WebSocket upgrades included; programs, which send neither, and the manager's own pages pass. With a token
 * the token decides.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { isLocalHostHeader } from '../../src/api/host-check.ts';
import { harness, type Harness } from '../containers/harness.ts';

describe('Host check without an API token', () => {
  it('takes loopback addresses, localhost and the machine\'s own name, with any port', () => {
    for (const h of ['127.0.0.1:18080', '127.0.1.1', '[::1]:18080', '[::1]', 'localhost', 'LOCALHOST:1', 'app.localhost:18080', 'localhost.', 'box:18080']) {
      assert.ok(isLocalHostHeader(h, 'box'), h);
    }
    for (const h of [undefined, '', 'evil.example', 'evil.example:18080', '10.0.0.5:18080', '[::2]:18080', 'localhost.evil.example', '127.0.0.1.evil.example', 'boxx']) {
      assert.ok(!isLocalHostHeader(h, 'box'), String(h));
    }
  });

  describe('on the API', () => {
    let open: Harness;
    let guarded: Harness;
    before(async () => {
      open = await harness();
      guarded = await harness({ config: { apiToken: 'a-long-enough-secret-token' } });
    });
    after(async () => {
      await open.close();
      await guarded.close();
    });

    it('refuses a rebound name with 403 on every route, upgrades and unknown paths included', async () => {
      for (const url of ['/v1/containers', '/health', '/', '/v1/nowhere', '/v1/containers/x/attach']) {
        const r = await open.app.inject({ method: 'GET', url, headers: { host: 'rebound.example:18080', connection: 'upgrade', upgrade: 'websocket' } });
        assert.equal(r.statusCode, 403, url);
        assert.equal(r.json().error.code, 'HEARTH_ERR_HOST_NOT_ALLOWED');
      }
      for (const host of ['127.0.0.1:18080', 'localhost:18080', `${hostname()}:18080`]) {
        assert.equal((await open.app.inject({ method: 'GET', url: '/v1/containers', headers: { host } })).statusCode, 200, host);
      }
    });

    it('refuses what a page of another origin sends, upgrades and bodiless POSTs included, and lets its own pages and programs in', async () => {
      const local = '127.0.0.1:18080';
      const refused: Array<Record<string, string>> = [
        { origin: 'http://evil.example' },
        { origin: 'null' },
        { origin: 'http://127.0.0.1:18081' },
        { origin: 'http://localhost:18080' },
        { origin: 'file://' },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
      ];
      for (const headers of refused) {
        for (const [method, url, extra] of [
          ['POST', '/v1/volumes/prune', {}],
          ['GET', '/v1/containers/x/attach', { connection: 'upgrade', upgrade: 'websocket' }],
        ] as const) {
          const r = await open.app.inject({ method, url, headers: { host: local, ...headers, ...extra } });
          assert.equal(r.statusCode, 403, `${method} ${url} ${JSON.stringify(headers)}`);
          assert.equal(r.json().error.code, 'HEARTH_ERR_HOST_NOT_ALLOWED');
        }
      }
      for (const headers of [{}, { origin: 'http://127.0.0.1:18080' }, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }]) {
        assert.equal((await open.app.inject({ method: 'GET', url: '/v1/containers', headers: { host: local, ...headers } })).statusCode, 200, JSON.stringify(headers));
      }
    });

    it('leaves it to the token when one is set', async () => {
      const host = 'api.example:18080';
      assert.equal((await guarded.app.inject({ method: 'GET', url: '/v1/containers', headers: { host } })).statusCode, 401);
      const ok = await guarded.app.inject({ method: 'GET', url: '/v1/containers', headers: { host, authorization: 'Bearer a-long-enough-secret-token' } });
      assert.equal(ok.statusCode, 200);
    });
  });
});
