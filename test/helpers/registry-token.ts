/**
 * A tiny token issuer for docker-registry's `auth: token`: checks Basic credentials, and returns an RS256 JWT
 * whose header carries the libtrust `kid` of a key the registry trusts through `rootcertbundle`
 * (a self-signed certificate made with openssl).
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { runTool } from '../../src/tools/run.ts';

export interface TokenIssuer {
  url: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Requests served, for assertions. */
  requests: number;
  stop(): Promise<void>;
}

/** libtrust key ID: base32 of the first 240 bits of sha256(SPKI DER), in 12 groups of 4. */
function libtrustKid(spkiDer: Buffer): string {
  const h = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of h) bits += b.toString(2).padStart(8, '0');
  let s = '';
  for (let i = 0; i < bits.length; i += 5) s += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return s.match(/.{4}/g)!.join(':');
}

const b64u = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export async function startTokenIssuer(opts: { dir: string; users: Record<string, string> }): Promise<TokenIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = path.join(opts.dir, 'token.key');
  const certPath = path.join(opts.dir, 'token.crt');
  fs.writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await runTool('openssl', ['req', '-x509', '-new', '-key', keyPath, '-subj', '/CN=hearth-test-issuer', '-days', '2', '-out', certPath]);
  const kid = libtrustKid(publicKey.export({ type: 'spki', format: 'der' }));
  const key = createPrivateKey(fs.readFileSync(keyPath));
  const service = 'hearth-test-registry';
  const issuer = 'hearth-test-issuer';
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const u = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    let subject = '';
    if (auth.startsWith('Basic ')) {
      const [user, pass] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (!user || opts.users[user] !== pass) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      subject = user;
    }
    const access = u.searchParams.getAll('scope').flatMap((sc) => {
      const [type, name, actions] = sc.split(':');
      // anonymous callers get nothing: the registry then answers 401
      return subject && type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const head = { typ: 'JWT', alg: 'RS256', kid };
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signing = `${b64u(JSON.stringify(head))}.${b64u(JSON.stringify(claims))}`;
    const token = `${signing}.${b64u(sign('sha256', Buffer.from(signing), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    issuer,
    certPath,
    get requests() {
      return state.requests;
    },
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
