/**
 * DNS rebinding: without an API token, a request addressed to another name than this machine's is refused
 * before routing (a page of another site would send its own name); with a token the token decides.
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

    it('leaves it to the token when one is set', async () => {
      const host = 'api.example:18080';
      assert.equal((await guarded.app.inject({ method: 'GET', url: '/v1/containers', headers: { host } })).statusCode, 401);
      const ok = await guarded.app.inject({ method: 'GET', url: '/v1/containers', headers: { host, authorization: 'Bearer a-long-enough-secret-token' } });
      assert.equal(ok.statusCode, 200);
    });
  });
});
