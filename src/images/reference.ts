/**
 * Image references parsed the way Docker parses them.
 *
 *   nginx                          -> docker.io/library/nginx:latest
 *   nginx:alpine                   -> docker.io/library/nginx:alpine
 *   ghcr.io/org/app@sha256:...     -> ghcr.io/org/app@sha256:...
 *   registry.local:5000/team/api:2 -> registry.local:5000/team/api:2
 *
 * The first path component is a registry host only if it contains a `.` or a `:`, or is `localhost`.
 * @module
 */
import { HearthError } from '../errors.ts';

export const DOCKER_HUB = 'docker.io';
/** The host that actually serves docker.io's registry API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export interface ImageReference {
  /** Registry as users name it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository path inside the registry (`library/nginx`). */
  repository: string;
  /** Tag, when the reference has one (`latest` is filled in when there is neither tag nor digest). */
  tag?: string;
  /** `sha256:<hex>` when the reference pins a digest. */
  digest?: string;
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

function invalid(ref: string, why: string): HearthError {
  return new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_REF_INVALID', `invalid image reference "${ref}": ${why}`, {
    field: 'image',
  });
}

/**
 * Parse and normalise an image reference.
 * @example parseReference('nginx:alpine') // { registry: 'docker.io', repository: 'library/nginx', tag: 'alpine' }
 */
export function parseReference(input: string): ImageReference {
  const ref = input.trim();
  if (ref === '') throw invalid(input, 'it is empty');
  if (ref.length > 512) throw invalid(input, 'it is longer than 512 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalid(input, `"${digest}" is not a sha256 digest (sha256: and 64 hex digits)`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, `"${tag}" is not a valid tag`);
  }
  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      path = rest.slice(slash + 1);
      if (!HOST_RE.test(registry)) throw invalid(input, `"${registry}" is not a valid registry host`);
    }
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;
  if (path === '') throw invalid(input, 'the repository name is empty');
  const components = path.split('/');
  for (const c of components) {
    if (!COMPONENT_RE.test(c)) {
      throw invalid(input, `"${c}" is not a valid repository name component (lowercase letters, digits, . _ -)`);
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The canonical string: `docker.io/library/nginx:alpine`, `host/repo@sha256:...`, or both tag and digest. */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** The familiar short form users type (`nginx:alpine`, `org/app:1`), for display. */
export function familiarReference(r: ImageReference): string {
  let name = `${r.registry}/${r.repository}`;
  if (r.registry === DOCKER_HUB) name = r.repository.startsWith('library/') ? r.repository.slice(8) : r.repository;
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}
