/**
 * The Docker socket's door, with the real `docker` CLI and raw requests: the socket's mode, the ping and its
 * headers (GET and HEAD), version negotiation down to 1.47, a pinned version too new or too old getting
 * dockerd's 400, `docker version` and `docker info` describing Hearth, and an endpoint Hearth does not serve
 * answering a 501 that names it, on both versioned and unversioned paths; `docker inspect` of nothing.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';

await enterTestNetns(import.meta.url);

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function onSocket(socketPath: string, method: string, path: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('Docker API: the endpoint', () => {
  let world: E2eEnv;
  before(async () => {
    world = await e2eEnv();
  });
  after(async () => {
    await world?.close();
  });

  it('is a socket only root may use (mode 0660, root group)', () => {
    const st = statSync(world.docker.socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 0);
  });

  it('answers the ping, GET and HEAD, versioned or not, with the API version and OS headers', async () => {
    for (const path of ['/_ping', '/v1.47/_ping', '/v1.40/_ping']) {
      const get = await onSocket(world.docker.socket, 'GET', path);
      assert.equal(get.status, 200, path);
      assert.equal(get.body, 'OK');
      assert.equal(get.headers['api-version'], '1.47');
      assert.equal(get.headers['ostype'], 'linux');
      assert.equal(get.headers['docker-experimental'], 'false');
      const head = await onSocket(world.docker.socket, 'HEAD', path);
      assert.equal(head.status, 200);
      assert.equal(head.headers['api-version'], '1.47');
      assert.equal(head.body, '');
    }
  });

  it('docker version negotiates 1.47 and names Hearth', async () => {
    const out = await world.docker.ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}} {{.Client.APIVersion}}']);
    assert.equal(out.trim(), '1.47 1.24 linux 1.47');
    const platform = await world.docker.ok(['version', '--format', '{{.Server.Platform.Name}}']);
    assert.match(platform, /Hearth/);
  });

  it('docker info describes Hearth: its VMM, its VMs, the host kernel and CPUs, its registry mirrors', async () => {
    const out = await world.docker.ok(['info', '--format', '{{json .}}']);
    const info = JSON.parse(out);
    assert.equal(info.OSType, 'linux');
    assert.match(info.OperatingSystem, /^Hearth /);
    assert.equal(info.DefaultRuntime, 'hearth-microvm');
    assert.ok(info.NCPU >= 1);
    assert.equal(info.Containers, 0);
    assert.deepEqual(info.DriverStatus.find((d: string[]) => d[0] === 'Virtual machines'), ['Virtual machines', '0']);
    // the test registry is the docker.io mirror, spoken to over plain HTTP
    const mirror = `http://${world.registry.host}/`;
    assert.deepEqual(info.RegistryConfig.Mirrors, [mirror]);
    assert.equal(info.RegistryConfig.IndexConfigs[world.registry.host].Secure, false);
    const text = await world.docker.ok(['info']);
    assert.match(text, new RegExp(`Registry Mirrors:\\n +${mirror.replace(/[.]/g, '\\.')}\\n`));
    assert.match(text, new RegExp(`Insecure Registries:\\n(?: +\\S+\\n)* +${world.registry.host.replace(/[.]/g, '\\.')}\\n`));
  });

  it('a client pinned to a version too new or too old gets dockerd\'s 400', async () => {
    const tooNew = await world.docker.run(['ps'], { env: { DOCKER_API_VERSION: '1.99' } });
    assert.notEqual(tooNew.code, 0);
    assert.match(tooNew.stderr, /client version 1\.99 is too new\. Maximum supported API version is 1\.47/);
    const raw = await onSocket(world.docker.socket, 'GET', '/v1.99/containers/json');
    assert.equal(raw.status, 400);
    assert.deepEqual(JSON.parse(raw.body), { message: 'client version 1.99 is too new. Maximum supported API version is 1.47' });
    const tooOld = await onSocket(world.docker.socket, 'GET', '/v1.12/version');
    assert.equal(tooOld.status, 400);
    assert.match(JSON.parse(tooOld.body).message, /^client version 1\.12 is too old\. Minimum supported API version is 1\.24/);
  });

  it('an endpoint Hearth does not serve is a 501 naming it, never a missing object', async () => {
    for (const path of ['/v1.47/swarm', '/swarm']) {
      const r = await onSocket(world.docker.socket, 'GET', path);
      assert.equal(r.status, 501);
      assert.deepEqual(JSON.parse(r.body), { message: 'not implemented by Hearth: GET /swarm' });
    }
    const cli = await world.docker.run(['swarm', 'ca']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /not implemented by Hearth/);
  });

  it('docker inspect of a name nothing has is the CLI\'s "no such object"; there are no plugins', async () => {
    const missing = await world.docker.run(['inspect', 'nothing-here']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error: No such object: nothing-here$/m);
    assert.equal((await world.docker.ok(['plugin', 'ls', '-q'])).trim(), '');
  });
});
