import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { formatReference, familiarReference, parseReference } from '../../src/images/reference.ts';
import { credentialsFromDockerConfig, parseChallenge } from '../../src/images/auth.ts';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const D = `sha256:${'ab'.repeat(32)}`;

it('normalises references the Docker way', () => {
  const cases: [string, string][] = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:alpine', 'docker.io/library/nginx:alpine'],
    ['org/app', 'docker.io/org/app:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    [`ghcr.io/org/app@${D}`, `ghcr.io/org/app@${D}`],
    [`ghcr.io/org/app:1@${D}`, `ghcr.io/org/app:1@${D}`],
    ['registry.local:5000/team/api:2', 'registry.local:5000/team/api:2'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b/c', '127.0.0.1:5000/a/b/c:latest'],
  ];
  for (const [input, want] of cases) assert.equal(formatReference(parseReference(input)), want, input);
  assert.equal(familiarReference(parseReference('nginx:alpine')), 'nginx:alpine');
});

it('rejects malformed references with a clear error', () => {
  for (const bad of ['', 'UPPER/case', 'a@sha256:12', 'a:b:c:d', 'a//b', 'a:-tag']) {
    assert.throws(() => parseReference(bad), (e) => isHearthError(e, 'HEARTH_ERR_IMAGE_REF_INVALID'), bad);
  }
});

it('parses auth challenges and docker config credentials', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
  });
  assert.equal(parseChallenge('Basic realm="x"')?.scheme, 'basic');
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-cfg-')), 'config.json');
  fs.writeFileSync(f, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('u:p:w').toString('base64') }, 'reg:5000': { username: 'a', password: 'b' } } }));
  assert.deepEqual(credentialsFromDockerConfig(f, 'docker.io'), { username: 'u', password: 'p:w' });
  assert.deepEqual(credentialsFromDockerConfig(f, 'reg:5000'), { username: 'a', password: 'b' });
  assert.equal(credentialsFromDockerConfig(f, 'other'), undefined);
  fs.rmSync(path.dirname(f), { recursive: true });
});
