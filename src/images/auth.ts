/**
 * Registry authentication: `WWW-Authenticate` challenges (Bearer and Basic) and credentials from a
 * Docker-style `config.json` (`auths` section; `auth` = base64 "user:password", or `username`/`password`).
 * Credential helpers (`credsStore`, `credHelpers`) are not consulted.
 * @module
 */
import { readFileSync } from 'node:fs';
import { HearthError } from '../errors.ts';
import { DOCKER_HUB } from './reference.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parse `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`. */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]!); p !== null; p = re.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme, params };
}

/** Keys that name docker.io in config.json files written by `docker login`. */
const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * Look up credentials for `registry` in the `auths` section of a Docker config.json.
 * Returns undefined when the file or the entry is missing.
 */
export function credentialsFromDockerConfig(path: string | undefined, registry: string): Credentials | undefined {
  if (path === undefined) return undefined;
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_REGISTRY_AUTH_FILE_INVALID', `cannot read registry credentials ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const auths = doc.auths ?? {};
  const wanted = registry === DOCKER_HUB ? HUB_KEYS : [registry];
  for (const [key, entry] of Object.entries(auths)) {
    if (!wanted.includes(key) && !wanted.includes(hostOf(key))) continue;
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
    }
  }
  return undefined;
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
