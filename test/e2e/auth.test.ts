/**
 * The API token against the real manager listening on every address, as the adversarial test found it:
 * every documented /v1 route and method, its path spelt every way `url-spellings` knows, sent byte for byte
 * over a socket without the token, must be 401 and change nothing; with the token the same spellings reach
 * the routes (a container is created through `/%761/containers`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { spellings } from '../helpers/url-spellings.ts';
import { buildUi } from '../helpers/ui-build.ts';

await enterTestNetns(import.meta.url);

const TOKEN = 'e2e-secret-token-of-some-length';
const RIGHT = { authorization: `Bearer ${TOKEN}` };

describe('API token, end to end', () => {
  let world: E2eEnv;
  let port: number;
  before(async () => {
    world = await e2eEnv({ HEARTH_HOST: '0.0.0.0', HEARTH_API_TOKEN: TOKEN });
    port = Number(new URL(world.manager.url).port);
  });
  after(async () => {
    // e2eEnv's clean-up speaks without the token: delete what is left here.
    const left = await rawRequest(port, 'GET', '/v1/containers', RIGHT).catch(() => undefined);
    for (const id of left?.text.match(/"id":"([0-9a-f-]{36})"/g)?.map((m) => m.slice(6, -1)) ?? []) {
      await rawRequest(port, 'DELETE', `/v1/containers/${id}`, RIGHT).catch(() => undefined);
    }
    await world?.close();
  });

  const json = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

  it('the encoded spellings that got past the token create and list with it, and only with it', async () => {
    const body = JSON.stringify({ name: 'through-encoding', image: 'busybox:latest', args: ['sleep', '600'] });
    const headers = { 'content-type': 'application/json' };
    for (const path of ['/%761/containers', '/v%31/containers', '/%76%31/containers']) {
      const refused = await rawRequest(port, 'POST', path, headers, body);
      assert.equal(refused.status, 401, `${path}: ${refused.text}`);
    }
    const created = await rawRequest(port, 'POST', '/%761/containers', { ...headers, ...RIGHT }, body);
    assert.equal(created.status, 201, created.text);
    const listed = await rawRequest(port, 'GET', '/%76%31/containers', RIGHT);
    assert.deepEqual(json(listed.text).items.map((c: { name: string }) => c.name), ['through-encoding']);
    const { id } = json(created.text);
    for (let state = ''; state !== 'running'; await new Promise((r) => setTimeout(r, 100))) {
      state = json((await rawRequest(port, 'GET', `/v1/containers/${id}`, RIGHT)).text).item.state;
      assert.ok(['creating', 'booting', 'initializing', 'running'].includes(state), state);
    }
  });

  it('every documented /v1 route is 401 without the token, whatever the spelling, and nothing changes', async () => {
    const doc = json((await rawRequest(port, 'GET', '/openapi.json')).text);
    const list = json((await rawRequest(port, 'GET', '/v1/containers', RIGHT)).text).items;
    const container = list[0];
    const events = async () => json((await rawRequest(port, 'GET', `/v1/containers/${container.id}/events`, RIGHT)).text).items;
    const before = await events();
    let tried = 0;
    const routes = Object.entries(doc.paths as Record<string, object>).filter(([pattern]) => pattern.startsWith('/v1/'));
    assert.ok(routes.length >= 8, 'the /v1 routes are documented');
    for (const [pattern, operations] of routes) {
      const path = pattern.replace('{id}', container.id);
      for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
        for (const spelling of spellings(path)) {
          const none = await rawRequest(port, method, spelling);
          // A request-target Node's HTTP parser refuses (one not starting with "/") never reaches a route.
          const unparsed = none.status === 400 && none.text.includes('"message":"Client Error"') && !spelling.startsWith('/');
          assert.ok(none.status === 401 || unparsed, `${method} ${spelling}: ${none.text.slice(0, 300)}`);
          tried++;
        }
        const wrong = await rawRequest(port, method, path, { authorization: `Bearer ${TOKEN}x` });
        assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      }
    }
    assert.ok(tried > 500, `${tried} requests without the token`);
    const after = json((await rawRequest(port, 'GET', '/v1/containers', RIGHT)).text).items;
    assert.deepEqual(after.map((c: { id: string }) => c.id), [container.id], 'nothing created or deleted');
    assert.deepEqual(await events(), before, 'no event: nothing stopped, started or changed');
    assert.equal(before.at(-1).to_state, 'running');
    assert.equal((await rawRequest(port, 'GET', '/health')).status, 200);
    assert.equal((await rawRequest(port, 'DELETE', `/v1/containers/${container.id}`, RIGHT)).status, 204);
  });

  it('a WebSocket upgrade (exec and container attach, the events stream) is 401 without the token, whatever the spelling; refused upgrades left open do not hold the shutdown', { timeout: 120_000 }, async () => {
    const upgrade = (route: string, headers: Record<string, string> = {}) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${route}`, { headers });
        const timer = setTimeout(() => (ws.terminate(), resolve('no answer in 5 s')), 5_000);
        const done = (what: string) => (clearTimeout(timer), resolve(what));
        ws.once('open', () => (ws.close(), done('open')));
        ws.once('unexpected-response', (_req, res) => (res.resume(), done(String(res.statusCode))));
        ws.once('error', (e) => done(`error: ${e.message}`));
      });
    const id = '00000000-0000-4000-8000-000000000000';
    let tried = 0;
    for (const route of [`/v1/exec/${'ab'.repeat(16)}/attach`, `/v1/containers/${id}/attach`, '/v1/events']) {
      // A WebSocket client cannot send a fragment, nor a target that does not start with "/".
      for (const spelt of spellings(route).filter((p) => p.startsWith('/') && !p.includes('#'))) {
        assert.equal(await upgrade(spelt), '401', spelt);
        tried++;
      }
    }
    assert.ok(tried > 100, `${tried} upgrades without the token`);
    assert.equal(await upgrade(`/v1/exec/${'ab'.repeat(16)}/attach`, RIGHT), '404', 'with the token it reaches the route (an unknown exec)');
    // Every refused upgrade's connection is still open on this side (nothing here closes them): the
    // manager stops all the same (a hang here fails the test at its timeout), and starts again.
    assert.equal(await world.manager.stop(), 0, 'the manager exits cleanly');
    assert.doesNotMatch(world.manager.output(), /exiting anyway/, 'it closed, not the shutdown limit');
    await world.restart();
  });

  it('the web UI: its shell and bundle are open, every data call is not; a WebSocket carries the token as a subprotocol, every spelling refused without it', { timeout: 120_000 }, async () => {
    buildUi();
    const shell = await rawRequest(port, 'GET', '/');
    assert.equal(shell.status, 200, shell.text.slice(0, 300));
    assert.match(shell.text, /content-security-policy: default-src 'self'; script-src 'self';/i);
    assert.equal((await rawRequest(port, 'GET', '/ui/app.js')).status, 200);
    assert.equal((await rawRequest(port, 'GET', '/v1/host')).status, 401);
    assert.equal((await rawRequest(port, 'GET', '/v1/host', RIGHT)).status, 200);
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const upgrade = (route: string, protocols: string[]) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${route}`, protocols);
        const timer = setTimeout(() => (ws.terminate(), resolve('no answer in 5 s')), 5_000);
        const done = (what: string) => (clearTimeout(timer), resolve(what));
        ws.once('open', () => (ws.close(), done('open')));
        ws.once('unexpected-response', (_req, res) => (res.resume(), done(String(res.statusCode))));
        ws.once('error', (e) => done(`error: ${e.message}`));
      });
    const route = `/v1/exec/${'ab'.repeat(16)}/attach`;
    let tried = 0;
    for (const spelt of spellings(route).filter((p) => p.startsWith('/') && !p.includes('#'))) {
      assert.equal(await upgrade(spelt, ['hearth', `bearer.${b64(TOKEN + 'x')}`]), '401', spelt);
      assert.equal(await upgrade(spelt, ['hearth']), '401', spelt);
      tried++;
    }
    assert.ok(tried > 30, `${tried} spellings`);
    assert.equal(await upgrade(route, ['hearth', `bearer.${b64(TOKEN)}`]), '404', 'with the token it reaches the route (an unknown exec)');
  });
});
