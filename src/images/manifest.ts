/**
 * Manifests as registries serve them: Docker v2 schema2 and OCI image manifests, Docker manifest lists and
 * OCI indexes. Parsing checks media types up front so an unsupported artifact fails before any layer is fetched.
 * @module
 */
import { HearthError } from '../errors.ts';
import { isDigest } from './reference.ts';

export const MediaType = {
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
} as const;

/** What we send in `Accept` when asking for a manifest. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(', ');

const LAYER_TYPES = new Set<string>([
  MediaType.DockerLayerGzip,
  MediaType.DockerForeignLayerGzip,
  MediaType.OciLayer,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  MediaType.OciLayerNondistributable,
  MediaType.OciLayerNondistributableGzip,
  MediaType.OciLayerNondistributableZstd,
]);
const CONFIG_TYPES = new Set<string>([MediaType.DockerConfig, MediaType.OciConfig]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

function unsupported(what: string, detail: string): HearthError {
  return new HearthError(
    'InvalidArgument',
    'HEARTH_ERR_IMAGE_MEDIA_TYPE_UNSUPPORTED',
    `${what} has unsupported media type ${detail}; Hearth runs Docker v2 schema2 and OCI images (tar, tar+gzip, tar+zstd layers)`,
  );
}

function malformed(what: string, why: string): HearthError {
  return new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_MANIFEST_INVALID', `${what} is malformed: ${why}`);
}

function descriptor(v: unknown, what: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (d === null || typeof d !== 'object') throw malformed(what, 'a descriptor is not an object');
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) {
    throw malformed(what, `descriptor digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw malformed(what, 'descriptor size is invalid');
  if (typeof d.mediaType !== 'string') throw malformed(what, 'descriptor has no mediaType');
  return d as Descriptor;
}

/**
 * Parse manifest bytes. `contentType` is the registry's Content-Type header; the body's own `mediaType` wins.
 * Throws HEARTH_ERR_IMAGE_MEDIA_TYPE_UNSUPPORTED for schema1, artifacts and foreign config or layer types.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ImageManifest | ImageIndex {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw malformed(what, `not JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object') throw malformed(what, 'not a JSON object');
  const mediaType =
    (typeof doc.mediaType === 'string' ? doc.mediaType : undefined) ??
    contentType?.split(';')[0]?.trim() ??
    (Array.isArray(doc.manifests) ? MediaType.OciIndex : MediaType.OciManifest);
  if (doc.schemaVersion === 1) throw unsupported(what, `${mediaType} (Docker schema1 is deprecated)`);
  if (mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList) {
    if (!Array.isArray(doc.manifests)) throw malformed(what, 'index has no manifests array');
    return { kind: 'index', mediaType, manifests: doc.manifests.map((m) => descriptor(m, what)) };
  }
  if (mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest) {
    if (!Array.isArray(doc.layers)) throw malformed(what, 'manifest has no layers array');
    const config = descriptor(doc.config, what);
    if (!CONFIG_TYPES.has(config.mediaType)) throw unsupported(`${what} config`, config.mediaType);
    const layers = doc.layers.map((l) => descriptor(l, what));
    for (const l of layers) if (!LAYER_TYPES.has(l.mediaType)) throw unsupported(`${what} layer ${l.digest}`, l.mediaType);
    return { kind: 'manifest', mediaType, config, layers };
  }
  throw unsupported(what, mediaType);
}

/** The default platform: the host's, as OCI names it. */
export function hostPlatform(): Platform {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[
    process.arch
  ];
  return { os: 'linux', architecture: arch ?? process.arch };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** `linux/arm64/v8` -> Platform. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_PLATFORM_INVALID', `platform "${s}" must look like linux/amd64`);
  }
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Choose the manifest for `want` from an index (variant must match only when asked for). */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      (m.mediaType === MediaType.OciManifest || m.mediaType === MediaType.DockerManifest) &&
      m.platform?.os === want.os &&
      m.platform.architecture === want.architecture &&
      (want.variant === undefined || m.platform.variant === want.variant),
  );
  const chosen = candidates[0];
  if (chosen === undefined) {
    const offered = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
    throw new HearthError(
      'NotFound',
      'HEARTH_ERR_IMAGE_PLATFORM_NOT_FOUND',
      `${what} has no image for ${formatPlatform(want)} (it offers ${offered.join(', ') || 'no platforms'})`,
    );
  }
  return chosen;
}
