/**
 * A client for the OCI distribution API, enough to pull: manifests and blobs, with the `/v2/` auth challenge
 * (Bearer tokens via realm/service/scope, or Basic), docker.io mirrors, plain-HTTP registries by configuration,
 * and retries with exponential backoff on transient failures (connection errors, 429, 5xx, stalled bodies).
 * @module
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthError, isHearthError } from '../errors.ts';
import { basicHeader, credentialsFromDockerConfig, parseChallenge, type Challenge, type Credentials } from './auth.ts';
import type { BlobWriter } from './blob-store.ts';
import { DigestMismatchError } from './blob-store.ts';
import { MANIFEST_ACCEPT } from './manifest.ts';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, formatReference, type ImageReference } from './reference.ts';

export interface RegistryConfig {
  /** Mirrors tried in order before the registry itself, e.g. `{ 'docker.io': ['http://127.0.0.1:5000'] }`. */
  mirrors?: Record<string, string[]>;
  /** Registries (`host[:port]`) spoken to over plain HTTP. Loopback hosts always are, as in Docker. */
  insecure?: string[];
  /** A Docker-style config.json whose `auths` section holds credentials. */
  authFile?: string;
  /** Attempts after the first for a transient failure (default 3). */
  retries?: number;
  /** First backoff delay in ms, doubled each retry (default 250). */
  retryBaseMs?: number;
  /** Abort a request whose response or body makes no progress for this long (default 30 s). */
  idleTimeoutMs?: number;
}

interface Endpoint {
  /** `http://127.0.0.1:5000` */
  base: string;
  /** The registry whose credentials apply (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  mirror: boolean;
}

export interface FetchedManifest {
  bytes: Buffer;
  contentType: string | undefined;
  digest: string;
}

/** Credentials offered for an endpoint, and where they came from (for messages). */
interface Presented {
  creds: Credentials | undefined;
  from: string;
}

/** Thrown for failures worth retrying. */
class Transient extends Error {}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;
/** Tokens and Basic headers kept at most, and how long a Basic header is reused before the challenge is met again. */
const TOKENS_MAX = 1000;
const BASIC_TTL_MS = 60 * 60 * 1000;
/** Error answers and token responses are small; only the start of an error body is ever shown. */
const SMALL_BODY = 64 * 1024;

export class RegistryClient {
  private readonly tokens = new Map<string, { header: string; expires: number }>();
  constructor(private readonly config: RegistryConfig = {}) {}

  private endpoints(ref: ImageReference): Endpoint[] {
    const out: Endpoint[] = [];
    for (const m of this.config.mirrors?.[ref.registry] ?? []) {
      const base = m.replace(/\/+$/, '');
      const host = base.replace(/^[a-z]+:\/\//i, '');
      out.push({ base: /^[a-z]+:\/\//i.test(base) ? base : `${this.scheme(host)}://${host}`, registry: host, mirror: true });
    }
    const host = ref.registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : ref.registry;
    out.push({ base: `${this.scheme(ref.registry)}://${host}`, registry: ref.registry, mirror: false });
    return out;
  }

  private scheme(host: string): 'http' | 'https' {
    return this.config.insecure?.includes(host) || LOOPBACK.test(host) ? 'http' : 'https';
  }

  /**
   * Try each endpoint (mirrors first); a mirror's failure falls through to the next. When the registry
   * itself cannot be reached after a mirror gave a definite answer (not found, unauthorized), that answer
   * is the one a person can act on, so it leads the error.
   */
  private async onEndpoints<T>(ref: ImageReference, fn: (e: Endpoint) => Promise<T>): Promise<T> {
    const eps = this.endpoints(ref);
    let mirrorAnswer: HearthError | undefined;
    for (const ep of eps) {
      try {
        return await fn(ep);
      } catch (e) {
        if (ep.mirror && !(e instanceof DigestMismatchError)) {
          if (e instanceof HearthError && e.kind !== 'Unavailable') mirrorAnswer ??= e;
          continue;
        }
        if (mirrorAnswer && e instanceof HearthError && e.kind === 'Unavailable') {
          throw new HearthError(mirrorAnswer.kind, mirrorAnswer.code, `${mirrorAnswer.message} (and ${e.message})`, { cause: e });
        }
        throw e;
      }
    }
    throw new HearthError('Unavailable', 'HEARTH_ERR_REGISTRY_UNAVAILABLE', `no registry endpoint for ${ref.registry}`);
  }

  /** GET a manifest by tag or digest. The digest is computed from the bytes and checked against what was asked. */
  async getManifest(ref: ImageReference, reference: string, creds?: Credentials): Promise<FetchedManifest> {
    const what = `manifest ${reference} of ${ref.registry}/${ref.repository}`;
    return this.onEndpoints(ref, async (ep) => {
      const { res, bytes } = await this.withRetries(async () => {
        const r = await this.send(ep, ref, `/manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, what, creds).catch(async (e: unknown) => {
          // registries answer MANIFEST_UNKNOWN for a missing repository too: ask the tag list which it is
          if (isHearthError(e, 'HEARTH_ERR_IMAGE_NOT_FOUND') && !(await this.repositoryExists(ep, ref, creds))) {
            throw new HearthError('NotFound', 'HEARTH_ERR_IMAGE_NOT_FOUND', `repository ${ref.registry}/${ref.repository} does not exist on ${ep.base}`, {
              cause: e,
            });
          }
          throw e;
        });
        const limit = 4 * 1024 * 1024;
        const tooLarge = (): HearthError => new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_MANIFEST_INVALID', `${what} is larger than ${limit} bytes`);
        return { res: r, bytes: await this.readAll(r, limit, what, tooLarge) };
      });
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const expected = reference.startsWith('sha256:') ? reference : (res.headers.get('docker-content-digest') ?? undefined);
      if (expected !== undefined && expected.startsWith('sha256:') && expected !== digest) throw new DigestMismatchError(expected, digest, what);
      return { bytes, contentType: res.headers.get('content-type') ?? undefined, digest };
    });
  }

  private async repositoryExists(ep: Endpoint, ref: ImageReference, creds: Credentials | undefined): Promise<boolean> {
    try {
      const r = await this.send(ep, ref, '/tags/list?n=1', {}, `tags of ${ref.repository}`, creds);
      await r.body?.cancel();
      return true;
    } catch (e) {
      return !(isHearthError(e, 'HEARTH_ERR_IMAGE_NOT_FOUND') && /does not exist/.test(e.message));
    }
  }

  /** Stream a blob into `writer` (which hashes it). Restarts from zero on a transient failure. */
  async downloadBlob(ref: ImageReference, digest: string, writer: BlobWriter, onBytes?: (n: number) => void, creds?: Credentials): Promise<void> {
    const what = `blob ${digest} of ${ref.registry}/${ref.repository}`;
    await this.onEndpoints(ref, (ep) =>
      this.withRetries(async () => {
        await writer.reset();
        onBytes?.(0);
        const res = await this.send(ep, ref, `/blobs/${digest}`, {}, what, creds);
        await this.pump(res, what, async (chunk) => {
          await writer.write(chunk);
          onBytes?.(writer.size);
        });
      }),
    );
  }

  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    const retries = this.config.retries ?? 3;
    const base = this.config.retryBaseMs ?? 250;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        if (attempt >= retries) {
          throw new HearthError('Unavailable', 'HEARTH_ERR_REGISTRY_UNAVAILABLE', `${e.message} (gave up after ${attempt + 1} attempts)`, {
            cause: e.cause ?? e,
          });
        }
        await sleep(base * 2 ** attempt * (0.75 + Math.random() / 2));
      }
    }
  }

  /**
   * The credentials for an endpoint: the request's (a Docker client's X-Registry-Auth) for the registry it
   * names, never sent to a mirror; else the auth file's for that endpoint's registry.
   */
  private credentials(ep: Endpoint, requested: Credentials | undefined): Presented {
    if (requested && !ep.mirror) return { creds: requested, from: 'the request' };
    return { creds: credentialsFromDockerConfig(this.config.authFile, ep.registry), from: this.config.authFile ?? '' };
  }

  /** Tokens are kept per endpoint, repository and credentials: one client's token never serves another's request. */
  private tokenKey(ep: Endpoint, ref: ImageReference, requested: Credentials | undefined): string {
    const who = requested && !ep.mirror ? createHash('sha256').update(`${requested.username}\0${requested.password}`).digest('hex').slice(0, 16) : '';
    return `${ep.base}|${ref.repository}|${who}`;
  }

  /** One request with auth: on a 401 answer the challenge and try once more. */
  private async send(ep: Endpoint, ref: ImageReference, path: string, headers: Record<string, string>, what: string, requested?: Credentials): Promise<Response> {
    const url = `${ep.base}/v2/${ref.repository}${path}`;
    const key = this.tokenKey(ep, ref, requested);
    const cached = this.tokens.get(key);
    let auth = cached && cached.expires > Date.now() ? cached.header : undefined;
    let res = await this.fetch(url, { ...headers, ...(auth ? { Authorization: auth } : {}) }, ep);
    const presented = this.credentials(ep, requested);
    if (res.status === 401) {
      await res.body?.cancel();
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      auth = await this.authorize(ep, ref, challenge, presented, key);
      res = await this.fetch(url, { ...headers, Authorization: auth }, ep);
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw this.denied(ep, ref, presented);
      }
    }
    if (res.ok) return res;
    // the status decides what follows; a body that stalls or breaks off just goes unquoted
    const body = (await this.readAll(res, SMALL_BODY, `the answer to ${what}`, 'truncate').catch(() => Buffer.alloc(0))).toString('utf8');
    const codes = registryErrorCodes(body);
    if (res.status === 404 || codes.includes('NAME_UNKNOWN') || codes.includes('MANIFEST_UNKNOWN') || codes.includes('BLOB_UNKNOWN')) {
      const repoMissing = codes.includes('NAME_UNKNOWN');
      const name = formatReference({ registry: ref.registry, repository: ref.repository });
      throw new HearthError(
        'NotFound',
        'HEARTH_ERR_IMAGE_NOT_FOUND',
        repoMissing
          ? `repository ${name} does not exist on ${ep.base}`
          : `${what} was not found on ${ep.base}: check the tag or digest`,
      );
    }
    if (res.status === 403) throw this.denied(ep, ref, presented);
    if (res.status === 429 || res.status >= 500) throw new Transient(`${ep.base} answered ${res.status} for ${what}`);
    throw new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${ep.base} answered ${res.status} for ${what}: ${body.slice(0, 300)}`);
  }

  private denied(ep: Endpoint, ref: ImageReference | undefined, { creds, from }: Presented): HearthError {
    const what = ref ? ` for ${ref.repository}` : '';
    return new HearthError(
      'FailedPrecondition',
      'HEARTH_ERR_REGISTRY_UNAUTHORIZED',
      creds
        ? `${ep.base} refused the credentials for user "${creds.username}" (from ${from})${what}: check them`
        : `${ep.base} requires authentication${what}: add credentials for ${ep.registry} to ${this.config.authFile ?? 'a Docker config.json (authFile)'}`,
    );
  }

  private async authorize(ep: Endpoint, ref: ImageReference, ch: Challenge | undefined, presented: Presented, key: string): Promise<string> {
    const { creds } = presented;
    if (ch?.scheme === 'basic') {
      if (!creds) throw this.denied(ep, ref, presented);
      const header = basicHeader(creds);
      this.keepToken(key, header, BASIC_TTL_MS);
      return header;
    }
    const u = this.tokenService(ep, ch);
    u.searchParams.set('scope', `repository:${ref.repository}:pull`);
    const res = await this.askTokenService(ep, u, creds);
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw this.denied(ep, ref, presented);
    }
    const what = `token service ${u.origin}`;
    if (!res.ok) {
      const body = await this.readAll(res, SMALL_BODY, what, 'truncate').catch(() => Buffer.alloc(0));
      throw new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${what} answered ${res.status}: ${body.toString('utf8').slice(0, 300)}`);
    }
    const raw = await this.readAll(res, SMALL_BODY, what, () => new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${what} sent a token response larger than ${SMALL_BODY} bytes`));
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown } = {};
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null) doc = parsed;
    } catch {
      /* not JSON: no token, reported below */
    }
    const token = doc.token ?? doc.access_token;
    if (typeof token !== 'string' || token === '') throw new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${what} returned no token`);
    const header = `Bearer ${token}`;
    const ttl = Math.max(30, (typeof doc.expires_in === 'number' ? doc.expires_in : 60) - 10) * 1000;
    this.keepToken(key, header, ttl);
    return header;
  }

  /**
   * Keeps what answered a challenge for reuse. Keys are per credentials, so the map would grow with every
   * client's login and repository: expired entries go as new ones come, and past TOKENS_MAX the oldest.
   */
  private keepToken(key: string, header: string, ttlMs: number): void {
    const now = Date.now();
    for (const [k, t] of this.tokens) if (t.expires <= now) this.tokens.delete(k);
    this.tokens.delete(key);
    if (this.tokens.size >= TOKENS_MAX) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(key, { header, expires: now + ttlMs });
  }

  /** The token service a Bearer challenge names, with its service set. */
  private tokenService(ep: Endpoint, ch: Challenge | undefined): URL {
    if (ch?.scheme !== 'bearer' || !ch.params.realm) {
      throw new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${ep.base} asked for authentication without a usable challenge`);
    }
    let u: URL;
    try {
      u = new URL(ch.params.realm);
    } catch (e) {
      throw new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${ep.base} names a token service that is not a URL: "${ch.params.realm}"`, { cause: e });
    }
    // the realm may be any host and gets the credentials in Basic form: over plain HTTP only when the
    // registry itself is spoken to that way (configured insecure, loopback, or a mirror given as http://)
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && /^http:\/\//i.test(ep.base))) {
      throw new HearthError(
        'Internal',
        'HEARTH_ERR_REGISTRY_PROTOCOL',
        `${ep.base} sends Hearth to ${u.origin} for tokens; refusing to ask for them over plain HTTP (credentials would travel in clear text) for a registry reached over HTTPS`,
      );
    }
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    return u;
  }

  private askTokenService(ep: Endpoint, u: URL, creds: Credentials | undefined): Promise<Response> {
    return this.withRetries(async () => {
      const r = await this.fetch(u.toString(), creds ? { Authorization: basicHeader(creds) } : {}, ep);
      if (r.status === 429 || r.status >= 500) {
        await r.body?.cancel();
        throw new Transient(`token service ${u.origin} answered ${r.status}`);
      }
      return r;
    });
  }

  /**
   * Whether `registry` accepts these credentials (`docker login`): its `/v2/` endpoint, with them in Basic
   * form, or its token service asked for a token with no scope, as the Docker client does.
   */
  async checkLogin(registry: string, creds: Credentials): Promise<void> {
    const host = registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
    const ep: Endpoint = { base: `${this.scheme(registry)}://${host}`, registry, mirror: false };
    const presented = { creds, from: 'the request' };
    const probe = (headers: Record<string, string>) => this.withRetries(() => this.fetch(`${ep.base}/v2/`, headers, ep));
    let res = await probe({});
    if (res.status === 401) {
      await res.body?.cancel();
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      if (ch?.scheme === 'basic') {
        res = await probe({ Authorization: basicHeader(creds) });
      } else {
        const u = this.tokenService(ep, ch);
        u.searchParams.set('account', creds.username);
        res = await this.askTokenService(ep, u, creds);
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw this.denied(ep, undefined, presented);
      }
    }
    await res.body?.cancel();
    if (!res.ok) throw new HearthError('Internal', 'HEARTH_ERR_REGISTRY_PROTOCOL', `${ep.base}/v2/ answered ${res.status}`);
  }

  /** fetch with an idle timeout; network errors become Transient. */
  private async fetch(url: string, headers: Record<string, string>, ep: Endpoint): Promise<Response> {
    const ctl = new AbortController();
    const idle = this.config.idleTimeoutMs ?? 30_000;
    const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${idle} ms`)), idle);
    try {
      const res = await fetch(url, { headers, signal: ctl.signal, redirect: 'follow' });
      (res as Response & { hearthAbort?: AbortController }).hearthAbort = ctl;
      return res;
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new Transient(`registry ${ep.base} is unreachable (${why}): check that it is running and the address is right`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Feed the body to `sink`, failing (transiently) when it stalls for idleTimeoutMs. A sink that returns
   * 'stop' ends the read there, and the rest of the body is abandoned with its connection.
   */
  private async pump(res: Response, what: string, sink: (chunk: Uint8Array) => Promise<void | 'stop'>): Promise<void> {
    if (!res.body) throw new Transient(`${what}: empty response body`);
    const idle = this.config.idleTimeoutMs ?? 30_000;
    const ctl = (res as Response & { hearthAbort?: AbortController }).hearthAbort;
    let timer = setTimeout(() => ctl?.abort(), idle);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(() => ctl?.abort(), idle);
        if ((await sink(chunk)) === 'stop') break; // leaving the loop cancels the body
      }
    } catch (e) {
      if (e instanceof HearthError) throw e;
      throw new Transient(`${what}: download interrupted (${(e as Error).message})`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The whole body, under the idle timeout and at most `limit` bytes: beyond that `tooLarge()` is thrown,
   * or with 'truncate' the first `limit` bytes are returned.
   */
  private async readAll(res: Response, limit: number, what: string, tooLarge: (() => HearthError) | 'truncate'): Promise<Buffer> {
    const parts: Buffer[] = [];
    let n = 0;
    await this.pump(res, what, async (c) => {
      if (n + c.byteLength > limit) {
        if (tooLarge !== 'truncate') throw tooLarge();
        parts.push(Buffer.from(c.subarray(0, limit - n)));
        return 'stop';
      }
      n += c.byteLength;
      parts.push(Buffer.from(c));
    });
    return Buffer.concat(parts);
  }
}

function registryErrorCodes(body: string): string[] {
  try {
    const doc = JSON.parse(body) as { errors?: { code?: string }[] };
    return (doc.errors ?? []).map((e) => e.code ?? '');
  } catch {
    return [];
  }
}
