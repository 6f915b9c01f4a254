/**
 * The Docker API on loopback TCP, which every local user can reach (the socket is root's): nothing gets
 * through without the API token, whatever the path or its spelling, upgrades included; the real `docker` CLI
 * gets through with it (sent as its config.json's HttpHeaders); the socket needs no token. With TLS, on an
 * address that is not loopback, only clients holding a certificate the configured CA signed get in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import os from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { spellings } from '../helpers/url-spellings.ts';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.ts';
import { addAddress, addBridge, setLink } from '../../src/tools/ip.ts';

await enterTestNetns(import.meta.url);

const TOKEN = 'docker-tcp-token-of-some-length';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('Docker API on loopback TCP', () => {
  let world: E2eEnv;
  let port: number;
  before(async () => {
    port = await freePort();
    world = await e2eEnv({ HEARTH_DOCKER_TCP: `127.0.0.1:${port}`, HEARTH_API_TOKEN: TOKEN });
  });
  after(async () => {
    await world?.close();
  });

  it('refuses every request and upgrade without the token, whatever the spelling', async () => {
    let tried = 0;
    for (const route of ['/_ping', '/v1.47/containers/json', '/containers/create', '/v1.47/exec/abc/start']) {
      for (const spelt of spellings(route).filter((p) => p.startsWith('/') && !p.includes('#'))) {
        for (const method of ['GET', 'POST']) {
          const r = await rawRequest(port, method, spelt);
          assert.equal(r.status, 401, `${method} ${spelt}: ${r.text.slice(0, 200)}`);
          tried++;
        }
      }
    }
    assert.ok(tried > 100, `${tried} requests`);
    const wrong = await rawRequest(port, 'GET', '/_ping', { authorization: `Bearer ${TOKEN}x` });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /"message":"missing or wrong API token/);
    const upgrade = await rawRequest(port, 'POST', '/v1.47/containers/x/attach?stream=1', { connection: 'Upgrade', upgrade: 'tcp' });
    assert.equal(upgrade.status, 401);
    assert.equal((await rawRequest(port, 'GET', '/_ping', { authorization: `Bearer ${TOKEN}` })).status, 200);
  });

  it('lets the docker CLI in with the token in its HttpHeaders, and not without; the socket needs none', async () => {
    const tcp = { DOCKER_HOST: `tcp://127.0.0.1:${port}` };
    const refused = await world.docker.run(['version', '--format', '{{.Server.APIVersion}}'], { env: tcp });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /API token/);
    writeFileSync(path.join(world.docker.configDir, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${TOKEN}` } }));
    assert.equal((await world.docker.ok(['version', '--format', '{{.Server.APIVersion}}'], { env: tcp })).trim(), '1.47');
    writeFileSync(path.join(world.docker.configDir, 'config.json'), '{}');
    assert.equal((await world.docker.ok(['version', '--format', '{{.Server.APIVersion}}'])).trim(), '1.47');
  });
});

/** A documentation address (RFC 5737) on a bridge that exists only in this test's network namespace. */
const TLS_ADDRESS = '192.0.2.10';

describe('Docker API on TCP with TLS client certificates', () => {
  let world: E2eEnv;
  let port: number;
  let pki: TestPki;
  let pkiDir: string;
  const tlsEnv = (certDir: string) => ({ DOCKER_HOST: `tcp://${TLS_ADDRESS}:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir });
  before(async () => {
    await addBridge('hearthtls0');
    await addAddress('hearthtls0', TLS_ADDRESS, 32);
    await setLink('hearthtls0', { up: true });
    pkiDir = mkdtempSync(path.join(os.tmpdir(), 'hearth-pki-'));
    pki = await makeTestPki(pkiDir, TLS_ADDRESS);
    port = await freePort();
    world = await e2eEnv({
      HEARTH_DOCKER_TCP: `${TLS_ADDRESS}:${port}`,
      HEARTH_DOCKER_TLS_CACERT: pki.ca,
      HEARTH_DOCKER_TLS_CERT: pki.serverCert,
      HEARTH_DOCKER_TLS_KEY: pki.serverKey,
    });
  });
  after(async () => {
    await world?.close();
    if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
  });

  it('serves the docker CLI with a certificate the CA signed, hijacked streams included, on a non-loopback address', async () => {
    const env = tlsEnv(pki.clientDir);
    assert.equal((await world.docker.ok(['version', '--format', '{{.Server.APIVersion}}'], { env })).trim(), '1.47');
    const run = await world.docker.run(['run', '--rm', 'hello-world'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Hello from Hearth!/);
  });

  it('refuses a client with no certificate, or one another CA signed, at the handshake', async () => {
    const stranger = await world.docker.run(['version', '--format', '{{.Server.APIVersion}}'], { env: tlsEnv(pki.strangerDir) });
    assert.notEqual(stranger.code, 0);
    assert.doesNotMatch(stranger.stdout, /1\.47/);
    const plain = await world.docker.run(['version', '--format', '{{.Server.APIVersion}}'], { env: { DOCKER_HOST: `tcp://${TLS_ADDRESS}:${port}` } });
    assert.notEqual(plain.code, 0);
    // Without a certificate the handshake fails: no HTTP request is ever read.
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: TLS_ADDRESS, port, ca: readCa(pki), servername: undefined }, () => {
        socket.write('GET /_ping HTTP/1.1\r\nhost: x\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('error', (e) => resolve(`error: ${e.message}`));
      socket.on('close', () => resolve(text === '' ? 'closed' : text));
    });
    assert.doesNotMatch(outcome, /HTTP\/1\.1 200/);
  });
});

function readCa(pki: TestPki): Buffer {
  return readFileSync(pki.ca);
}
