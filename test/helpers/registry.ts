/**
 * Starts Debian's docker-registry (distribution 2.8) on 127.0.0.1 with storage in a temp dir: open, with
 * Basic auth (htpasswd, bcrypt via apache2-utils), or with token auth (a tiny RS256 token issuer, see
 * registry-token.ts). Everything is removed by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool } from '../../src/tools/run.ts';
import { startTokenIssuer, type TokenIssuer } from './registry-token.ts';

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  dir: string;
  /** Credentials that work for Basic and token registries. */
  user?: { username: string; password: string };
  issuer?: TokenIssuer;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(opts: { auth?: 'basic' | 'token' } = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-registry-'));
  const port = await freePort();
  const user = { username: 'hearth', password: 'sekrit-pw' };
  let authYaml = '';
  let issuer: TokenIssuer | undefined;
  if (opts.auth === 'basic') {
    const { stdout } = await runTool('htpasswd', ['-Bbn', user.username, user.password]);
    fs.writeFileSync(path.join(dir, 'htpasswd'), stdout);
    authYaml = `auth:\n  htpasswd:\n    realm: hearth-test\n    path: ${dir}/htpasswd\n`;
  } else if (opts.auth === 'token') {
    issuer = await startTokenIssuer({ dir, users: { [user.username]: user.password } });
    authYaml = `auth:\n  token:\n    realm: ${issuer.url}/token\n    service: ${issuer.service}\n    issuer: ${issuer.issuer}\n    rootcertbundle: ${issuer.certPath}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: hearth-test-secret
${authYaml}`;
  fs.writeFileSync(path.join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()).slice(-4000));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/v2/`);
      await r.body?.cancel();
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        await issuer?.stop();
        throw new Error(`docker-registry did not start: ${stderr}`);
      }
      await sleep(50);
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    ...(opts.auth ? { user } : {}),
    ...(issuer ? { issuer } : {}),
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, sleep(3000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await issuer?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
