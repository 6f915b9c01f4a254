/**
 * The registry client against small misbehaving servers (no docker-registry): error and token bodies that
 * stall or never end, and a token realm that would take credentials over plain HTTP.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isHearthError } from '../../src/errors.ts';
import { RegistryClient } from '../../src/images/registry-client.ts';
import { runTool } from '../../src/tools/run.ts';

let dir: string;
const servers: (http.Server | https.Server)[] = [];

async function listen<S extends http.Server | https.Server>(s: S): Promise<{ server: S; host: string }> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { server: s, host: `127.0.0.1:${(s.address() as AddressInfo).port}` };
}

/** Headers, then a little of the body, then nothing: the connection stays open. */
function stall(res: http.ServerResponse, status: number, start: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': '100000' });
  res.write(start);
}

/** 8 MiB (too much to want, little enough not to exhaust memory if it is wanted), then a stall. */
function flood(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  let sent = 0;
  const more = (): void => {
    while (sent < 8 * 1024 * 1024) {
      sent += 64 * 1024;
      if (!res.write(Buffer.alloc(64 * 1024, 0x78))) return void res.once('drain', more);
    }
  };
  more();
}

/** Fails instead of waiting forever, so a hang shows as a failed test. */
async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  const ctl = new AbortController();
  try {
    return await Promise.race([p, sleep(ms, undefined, { signal: ctl.signal }).then(() => Promise.reject(new Error(`still pending after ${ms} ms`)))]);
  } finally {
    ctl.abort();
  }
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-regclient-'));
});

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

it('reads error and token bodies with the idle timeout and a size bound', async () => {
  const { host } = await listen(
    http.createServer((req, res) => {
      const repo = (req.url ?? '').split('/')[3]; // /v2/a/<repo>/manifests/latest
      if (req.url?.startsWith('/token/stall')) return stall(res, 200, '{"token":');
      if (req.url?.startsWith('/token/flood')) return flood(res, 200);
      if (repo === 'stall-error') return stall(res, 500, '{"errors":');
      if (repo === 'flood-error') return flood(res, 400);
      const port = (req.socket.localPort ?? 0).toString();
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token/${repo === 'stall-token' ? 'stall' : 'flood'}",service="x"` });
      res.end();
    }),
  );
  const client = new RegistryClient({ idleTimeoutMs: 300, retries: 0 });
  const cases: [string, string, RegExp][] = [
    ['stall-error', 'HEARTH_ERR_REGISTRY_UNAVAILABLE', /answered 500/],
    ['flood-error', 'HEARTH_ERR_REGISTRY_PROTOCOL', /answered 400 .*: x{300}$/],
    ['stall-token', 'HEARTH_ERR_REGISTRY_UNAVAILABLE', /interrupted/],
    ['flood-token', 'HEARTH_ERR_REGISTRY_PROTOCOL', /token service .* larger than/],
  ];
  for (const [repo, code, msg] of cases) {
    await assert.rejects(
      within(5000, client.getManifest({ registry: host, repository: `a/${repo}` }, 'latest')),
      (e) => isHearthError(e, code) && msg.test(e.message),
      repo,
    );
  }
});

it('refuses a plain-HTTP token realm for a registry spoken to over HTTPS', async () => {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await runTool('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-days', '1']);
  const seen: (string | undefined)[] = [];
  const issuer = await listen(
    http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
    }),
  );
  const registry = await listen(
    https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${issuer.host}/token",service="x"` }).end();
    }),
  );
  const authFile = path.join(dir, 'config.json');
  fs.writeFileSync(authFile, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('hearth:sekrit').toString('base64') } } }));
  // an HTTPS endpoint on 127.0.0.1 is only possible as a mirror given with its scheme; the self-signed
  // certificate is accepted for this test alone
  const was = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    const client = new RegistryClient({ mirrors: { [registry.host]: [`https://${registry.host}`] }, authFile, retries: 0, idleTimeoutMs: 2000 });
    await assert.rejects(
      within(5000, client.getManifest({ registry: registry.host, repository: 'a/b' }, 'latest')),
      (e) => isHearthError(e, 'HEARTH_ERR_REGISTRY_PROTOCOL') && /plain HTTP/.test(e.message),
    );
  } finally {
    if (was === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = was;
  }
  assert.deepEqual(seen, [], 'the token service was never asked, so no credentials went over plain HTTP');
});
