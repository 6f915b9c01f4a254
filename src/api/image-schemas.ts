/**
 * The image API's TypeBox schemas (routes/images.ts): list and inspect items, the pull's progress lines,
 * and the parameters. Shared pieces come from ./schemas.ts.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { ErrorDetail, IMAGE_REFERENCE, IMAGE_REF_MAX_LENGTH, ImageRef, Nullable, StringEnum, Time } from './schemas.ts';

const Digest = Type.String({ pattern: '^sha256:[a-f0-9]{64}$' });

export const ImageItem = Type.Object({
  digest: Type.String({ pattern: '^sha256:[a-f0-9]{64}$', description: "The manifest's digest: the image's identity." }),
  references: Type.Array(Type.String(), { description: 'Canonical references naming it (`docker.io/library/nginx:alpine`).' }),
  index_digest: Nullable(Digest),
  platform: Type.String({ examples: ['linux/amd64'] }),
  created: Nullable(Type.String({ description: "As the image's config says (RFC 3339 by convention)." })),
  pulled_at: Nullable(Time),
  size: Type.Integer({ description: 'Compressed size of the layers, as the registry serves them.' }),
  size_on_disk: Type.Integer({ description: 'Bytes it takes here: its blobs and its disk. Blobs shared between images count for each.' }),
  disk: Nullable(Type.Object({ fs_type: StringEnum(['ext4', 'erofs'] as const), bytes: Type.Integer() }, { description: 'Null until a container or a pull built it.' })),
  containers: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String() }), { description: 'Containers that use it, in any state.' }),
});

export const ImageDetailsItem = Type.Composite([
  ImageItem,
  Type.Object({
    media_type: Type.String(),
    layers: Type.Array(Type.Object({ digest: Digest, size: Type.Integer(), media_type: Type.String() })),
    config: Type.Object({
      entrypoint: Type.Array(Type.String()),
      cmd: Type.Array(Type.String()),
      env: Type.Array(Type.String()),
      exposed_ports: Type.Array(Type.String(), { examples: [['80/tcp']] }),
      volumes: Type.Array(Type.String()),
      healthcheck: Nullable(
        Type.Object({
          test: Type.Array(Type.String()),
          interval_ns: Type.Integer(),
          timeout_ns: Type.Integer(),
          start_period_ns: Type.Integer(),
          start_interval_ns: Type.Integer(),
          retries: Type.Integer(),
        }),
      ),
      user: Type.String({ description: 'Empty: root.' }),
      workdir: Type.String({ description: 'Empty: /.' }),
      labels: Type.Record(Type.String(), Type.String()),
      stop_signal: Type.String({ description: 'Empty: SIGTERM.' }),
    }),
  }),
]);

/** One line of a pull's progress stream, in this order: resolving, resolved, layer..., building, then done or error. */
export const PullLine = Type.Union([
  Type.Object({ status: StringEnum(['resolving'] as const), image: Type.String() }),
  Type.Object({
    status: StringEnum(['resolved'] as const),
    image: Type.String(),
    digest: Digest,
    layers: Type.Array(Type.Object({ digest: Digest, size: Type.Integer() })),
  }),
  Type.Object({
    status: StringEnum(['layer'] as const),
    digest: Digest,
    state: StringEnum(['cached', 'downloading', 'verified'] as const),
    done: Type.Integer({ description: 'Bytes downloaded.' }),
    total: Type.Integer(),
  }),
  Type.Object({ status: StringEnum(['building'] as const), digest: Digest }),
  Type.Object({ status: StringEnum(['done'] as const), image: Type.String(), digest: Digest }),
  Type.Object({ status: StringEnum(['error'] as const), error: ErrorDetail }),
]);

export const ImagePull = Type.Object({ image: ImageRef }, { additionalProperties: false });

export const ImageRefParams = Type.Object(
  {
    ref: Type.String({
      minLength: 1,
      maxLength: IMAGE_REF_MAX_LENGTH,
      pattern: IMAGE_REFERENCE,
      'x-error': 'must be an image reference (URL-encoded: docker.io%2Flibrary%2Fnginx:alpine) or a digest (sha256:<hex>)',
      description: 'A reference, URL-encoded as one path segment (`/` as `%2F`), or a digest `sha256:<hex>`.',
    }),
  },
  { additionalProperties: false },
);

export const ForceQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ description: 'Untag even if containers use it.' })) },
  { additionalProperties: false },
);
