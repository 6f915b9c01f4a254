/**
 * Registry credentials through the Docker API. `POST /auth` is `docker login`: the credentials are checked
 * with the registry and not kept (the CLI keeps them in its config.json); `X-Registry-Auth` is how the CLI
 * sends them again with each pull, for the registry of the image it pulls.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isHearthError } from '../../../errors.ts';
import { DOCKER_HUB } from '../../../images/reference.ts';
import type { DockerContext } from '../context.ts';
import { DockerError, invalidParameter } from '../errors.ts';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Docker Hub's names in a login's `serveraddress`. */
const HUB_ADDRESSES = new Set(['index.docker.io', 'registry-1.docker.io', 'docker.io']);

/** `https://index.docker.io/v1/`, `127.0.0.1:5000`, `http://registry.local:5000/`: the registry's host. */
export function registryOf(serverAddress: string): string {
  const host = serverAddress.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  return host === '' || HUB_ADDRESSES.has(host) ? DOCKER_HUB : host;
}

/**
 * The credentials of a request's `X-Registry-Auth` (base64url JSON, as the CLI encodes its AuthConfig: a
 * username and password, or `auth` holding base64 `user:password`); undefined without one or when it holds
 * none (the CLI sends `{}` for a registry it has no login for). An identity token alone is not usable.
 */
export function credentialsOf(req: FastifyRequest): RegistryCredentials | undefined {
  const header = req.headers['x-registry-auth'];
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  let doc: { username?: unknown; password?: unknown; auth?: unknown };
  try {
    doc = JSON.parse(Buffer.from(header.trim(), 'base64url').toString('utf8')) as typeof doc;
  } catch {
    throw invalidParameter('X-Registry-Auth is not base64-encoded JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw invalidParameter('X-Registry-Auth is not base64-encoded JSON');
  return fromAuthConfig(doc);
}

function fromAuthConfig(doc: { username?: unknown; password?: unknown; auth?: unknown }): RegistryCredentials | undefined {
  if (typeof doc.username === 'string' && doc.username !== '' && typeof doc.password === 'string') {
    return { username: doc.username, password: doc.password };
  }
  if (typeof doc.auth === 'string' && doc.auth !== '') {
    const plain = Buffer.from(doc.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  return undefined;
}

export function registryAuthRoutes(app: FastifyInstance, ctx: DockerContext): void {
  app.post<{ Body: { username?: unknown; password?: unknown; auth?: unknown; serveraddress?: unknown } | undefined }>('/auth', async (req) => {
    const body = req.body ?? {};
    const creds = fromAuthConfig(body);
    if (!creds) throw invalidParameter('a login needs a username and a password (identity tokens are not supported by Hearth)');
    const registry = registryOf(typeof body.serveraddress === 'string' ? body.serveraddress : '');
    try {
      await ctx.images.checkLogin(registry, creds);
    } catch (e) {
      // dockerd's status for refused credentials, so the CLI says "unauthorized" and keeps nothing.
      if (isHearthError(e, 'HEARTH_ERR_REGISTRY_UNAUTHORIZED')) throw new DockerError(401, `login attempt to ${registry} failed: ${e.message}`);
      throw e;
    }
    return { Status: 'Login Succeeded', IdentityToken: '' };
  });
}
