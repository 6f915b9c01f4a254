/**
 * Which containers use which image. The images layer does not know containers: the layer above hands it a
 * `Usage` function (every container's id, name and image reference), and this file matches those against
 * an image's references and digests, and against the digest each container's provisioning last resolved.
 * @module
 */
import { formatReference, parseReference } from './reference.ts';

/** A container, as far as images care. */
export interface ImageUser {
  id: string;
  name: string;
  /** The image reference as the container names it (`nginx:alpine`). */
  ref: string;
  /** The manifest digest its image resolved to when first provisioned (it boots that one), if it has. */
  digest?: string | null;
}

/** Every container that exists now, in any state (a stopped one starts again from its image). */
export type Usage = () => Promise<ImageUser[]>;

export interface ImageIdentity {
  manifestDigest: string;
  indexDigests: string[];
  /** Canonical references naming it. */
  refs: string[];
}

/**
 * The users of one image: a container whose reference is one of the image's (canonically: `nginx` is
 * `docker.io/library/nginx:latest`), pins one of its digests, or whose provisioning resolved to it (its
 * tag may have moved since): as its record says (`digest`), or, before the record says so, as `runs`
 * (container id -> manifest digest, kept while the manager runs) does.
 */
export function usersOf(image: ImageIdentity, users: readonly ImageUser[], runs: ReadonlyMap<string, string>): ImageUser[] {
  return users.filter((u) => runs.get(u.id) === image.manifestDigest || u.digest === image.manifestDigest || names(image, u));
}

/**
 * The containers whose reference is one of `image.refs` or pins one of its digests: those in the way of
 * forgetting some of an image's names (the others boot the digest they resolved, which stays).
 */
export function usersNaming(image: ImageIdentity, users: readonly ImageUser[]): ImageUser[] {
  return users.filter((u) => names(image, u));
}

function names(image: ImageIdentity, u: ImageUser): boolean {
  const r = canonical(u.ref);
  if (r === undefined) return false;
  return image.refs.includes(r.key) || (r.digest !== undefined && (r.digest === image.manifestDigest || image.indexDigests.includes(r.digest)));
}

/** A reference in the refs index's form; undefined for one that does not parse (it names no image here). */
function canonical(ref: string): { key: string; digest?: string } | undefined {
  try {
    const r = parseReference(ref);
    return { key: formatReference(r), ...(r.digest ? { digest: r.digest } : {}) };
  } catch {
    return undefined;
  }
}
