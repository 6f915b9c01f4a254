/**
 * The web UI's static files as the manager serves them (src/api/ui.ts), from a bundle directory made here: the
 * shell at `/`, the bundle under `/ui/`, both open with a token configured and with a content security policy
 * that allows no inline script; nothing outside the directory's own files, however the path is spelt; gzip when
 * asked; a clear 503 when the UI is not built. And the WebSocket token as a subprotocol (src/api/auth.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { webSocketAuthorization } from '../../src/api/auth.ts';
import { harness, type Harness } from '../containers/harness.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const TOKEN = 'ui-test-token-of-some-length';

describe('web UI files', () => {
  let h: Harness;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hearth-ui-'));
    const dir = join(root, 'ui');
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>shell</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log("app")');
    writeFileSync(join(dir, 'app.js.gz'), gzipSync('console.log("app")'));
    writeFileSync(join(dir, 'notes.txt'), 'not a type the UI serves');
    // A file beside the bundle directory: what a traversal would reach.
    writeFileSync(join(root, 'secret.js'), 'secret');
    h = await harness({ uiDir: dir, config: { apiToken: TOKEN } });
  });
  after(async () => {
    await h.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the shell and the bundle without the token, with a CSP that allows no inline script', async () => {
    const shell = await h.app.inject({ url: '/' });
    assert.equal(shell.statusCode, 200);
    assert.match(shell.headers['content-type'] as string, /^text\/html/);
    assert.equal(shell.body, '<!doctype html><title>shell</title>');
    const csp = shell.headers['content-security-policy'] as string;
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(shell.headers['x-content-type-options'], 'nosniff');
    const js = await h.app.inject({ url: '/ui/app.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    assert.equal(js.body, 'console.log("app")');
    assert.equal(js.headers['content-security-policy'], csp);
  });

  it('sends the gzip twin to a client that accepts gzip', async () => {
    const r = await h.app.inject({ url: '/ui/app.js', headers: { 'accept-encoding': 'br, gzip' } });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(r.rawPayload).toString(), 'console.log("app")');
    const plain = await h.app.inject({ url: '/ui/index.html', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(plain.headers['content-encoding'], undefined, 'no twin: as it is');
  });

  it('serves nothing but the directory\'s own files of the UI\'s types, however the path is spelt', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (h.app.server.address() as AddressInfo).port;
    for (const path of [
      '/ui/../secret.js', '/ui/%2e%2e/secret.js', '/ui/%2E%2E%2Fsecret.js', '/ui/..%2fsecret.js', '/ui/..%5csecret.js',
      '/ui/%252e%252e%252fsecret.js', '/ui/.%2e/secret.js', '/ui//../secret.js', '/ui/notes.txt', '/ui/app.js.gz',
      '/ui/', '/ui/missing.js', '/ui/app.js%00.html', '/ui/.', '/ui/..',
    ]) {
      const r = await rawRequest(port, 'GET', path);
      assert.ok(!r.text.includes('secret') || r.status !== 200, `${path}: ${r.text.slice(0, 200)}`);
      if (r.status === 200) assert.ok(r.text.includes('shell'), `${path} normalised to the shell: ${r.text.slice(0, 200)}`);
      else assert.ok([400, 401, 404].includes(r.status), `${path}: ${r.status}`);
    }
    for (const path of ['/ui/%2e%2e/secret.js', '/ui/..%2fsecret.js', '/ui/notes.txt']) {
      const r = await h.app.inject({ url: path, headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.statusCode, 404, `${path} with the token: ${r.body}`);
    }
  });

  it('without a built UI the shell is a 503 that says how to build it', async () => {
    const bare = await harness({ uiDir: join(root, 'not-built') });
    try {
      const r = await bare.app.inject({ url: '/' });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().error.code, 'HEARTH_ERR_UI_NOT_BUILT');
      assert.match(r.json().error.message, /scripts\/build\.sh/);
    } finally {
      await bare.close();
    }
  });

  it('a WebSocket upgrade may carry the token as a subprotocol; the answer selects `hearth`, never the token', async () => {
    const port = (h.app.server.address() as AddressInfo).port;
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const upgrade = (protocols: string[]) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/exec/${'ab'.repeat(16)}/attach`, protocols);
        ws.once('open', () => (ws.close(), resolve(`open ${ws.protocol}`)));
        ws.once('unexpected-response', (_req, res) => (res.resume(), resolve(String(res.statusCode))));
        ws.once('error', (e) => resolve(`error: ${e.message}`));
      });
    assert.equal(await upgrade(['hearth', `bearer.${b64(TOKEN)}`]), '404', 'through the token check: the exec is unknown');
    assert.equal(await upgrade(['hearth', `bearer.${b64(TOKEN + 'x')}`]), '401');
    assert.equal(await upgrade(['hearth', `bearer.${b64(TOKEN.slice(0, -1))}`]), '401');
    assert.equal(await upgrade(['hearth', `bearer.`]), '401');
    assert.equal(await upgrade(['hearth']), '401');
    assert.equal(await upgrade([`bearer.${TOKEN}`]), '401', 'not base64url: another token');
    // Outside an upgrade the header is not a credential.
    const plain = await rawRequest(port, 'GET', '/v1/containers', { 'sec-websocket-protocol': `hearth, bearer.${b64(TOKEN)}` });
    assert.equal(plain.status, 401);
    assert.equal(webSocketAuthorization({ upgrade: 'websocket', 'sec-websocket-protocol': `hearth, bearer.${b64('a b')}` }), 'Bearer a b');
    assert.equal(webSocketAuthorization({ 'sec-websocket-protocol': `bearer.${b64(TOKEN)}` }), undefined);
  });

  it('with the token as a subprotocol a browser-style client runs an exec over the WebSocket', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const created = await h.app.inject({ method: 'POST', url: '/v1/containers', headers: auth, payload: { name: 'box', image: 'sleeper:1' } });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    for (let state = ''; state !== 'running'; await new Promise((r) => setTimeout(r, 5))) {
      state = (await h.app.inject({ url: `/v1/containers/${id}`, headers: auth })).json().item.state;
    }
    const exec = await h.app.inject({ method: 'POST', url: `/v1/containers/${id}/exec`, headers: auth, payload: { cmd: ['echo', 'over the socket'] } });
    assert.equal(exec.statusCode, 201, exec.body);
    const port = (h.app.server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/exec/${exec.json().id}/attach`, ['hearth', `bearer.${Buffer.from(TOKEN).toString('base64url')}`]);
    let out = '';
    ws.on('message', (data: Buffer, binary) => (out += binary ? data.subarray(1).toString() : data.toString()));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    assert.equal(ws.protocol, 'hearth', 'the selected subprotocol is never the token');
    await new Promise((r) => ws.once('close', r));
    assert.equal(out, 'over the socket\n{"exit":0}');
  });
});
