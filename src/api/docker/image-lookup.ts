/**
 * An image named as Docker users name one: by reference (`busybox`, `busybox:1.36`, `host:5000/app@sha256:…`),
 * by its Docker ID (the config digest, `sha256:` and 64 digits or a prefix of at least a few of them, as
 * `docker images` shows 12) or by a manifest digest. A reference is tried first, as dockerd does.
 * @module
 */
import type { ImageDetails, ImageLibrary } from '../../containers/deps.ts';
import { isHearthError } from '../../errors.ts';
import { formatReference, parseReference } from '../../images/reference.ts';
import { DockerError, noSuchImage } from './errors.ts';

export interface FoundImage {
  details: ImageDetails;
  /** Named by a reference (its canonical form), not by an ID or digest. */
  ref?: string;
}

const ID = /^(?:sha256:)?([0-9a-f]{4,64})$/;

/** The image `name` names; dockerd's 404 `No such image` if none, 400 if an ID prefix names several. */
export async function findImage(images: ImageLibrary, name: string): Promise<FoundImage> {
  let asRef: unknown;
  try {
    const details = await images.inspect(name);
    const byDigest = /^sha256:[0-9a-f]{64}$/.test(name);
    return byDigest ? { details } : { details, ref: formatReference(parseReference(name)) };
  } catch (e) {
    if (!isHearthError(e) || (e.kind !== 'NotFound' && e.kind !== 'InvalidArgument')) throw e;
    asRef = e;
  }
  const id = ID.exec(name)?.[1];
  if (id === undefined) {
    if (isHearthError(asRef) && asRef.kind === 'InvalidArgument') throw new DockerError(400, asRef.message);
    throw noSuchImage(name);
  }
  const matches = (await images.list()).filter((i) => i.configDigest.slice(7).startsWith(id) || i.manifestDigest.slice(7).startsWith(id));
  const digests = [...new Set(matches.map((i) => i.manifestDigest))];
  if (digests.length === 0) throw noSuchImage(name);
  if (digests.length > 1) throw new DockerError(400, `image ID prefix ${name} is ambiguous: it begins ${digests.length} images' IDs`);
  return { details: await images.inspect(digests[0]!) };
}
