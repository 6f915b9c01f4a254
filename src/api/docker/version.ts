/**
 * The Engine API's versions: a path may start with `/v1.NN`; the version it names must be one Hearth
 * serves, else dockerd's 400 with dockerd's words (the CLI shows them as they are). An unversioned path is
 * the newest version, as on dockerd.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { DockerError } from './errors.ts';

export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

const VERSIONED = /^\/v(\d+\.\d+)(\/.*|$)/;
const versions = new WeakMap<IncomingMessage, string>();

/** Fastify's `rewriteUrl`: routes see the unversioned path; the version is remembered for `apiVersionOf`. */
export function stripVersion(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const m = VERSIONED.exec(url);
  if (!m) return url;
  versions.set(req, m[1]!);
  return m[2] || '/';
}

/** The version a request asked for (the newest if it named none). */
export function apiVersionOf(req: IncomingMessage): string {
  return versions.get(req) ?? API_VERSION;
}

/** `-1`, `0` or `1` as `a` is older than, the same as or newer than `b` (`1.9` < `1.24`). */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number) as [number, number];
  const [bm, bn] = b.split('.').map(Number) as [number, number];
  return Math.sign(am - bm || an - bn);
}

/** Throws dockerd's 400 for a version Hearth does not serve. */
export function checkApiVersion(version: string): void {
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw new DockerError(
      400,
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, ` +
        'please upgrade your client to a newer version',
    );
  }
  if (compareVersions(version, API_VERSION) > 0) {
    throw new DockerError(400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
}

/** Does the request's version come at or after `version`? (For behaviour that changed between versions.) */
export function atLeast(req: IncomingMessage, version: string): boolean {
  return compareVersions(apiVersionOf(req), version) >= 0;
}
