/**
 * /v1/images: the schemas and one call into the image library per route (the image store, given to the
 * app as the containers layer's `ImageLibrary`). A reference in a path is one URL-encoded segment.
 * @module
 */
import { PassThrough } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ImageDetails, ImageLibrary, ImageSummary, PullProgress } from '../../containers/deps.ts';
import { toResponse } from '../error-handler.ts';
import { ForceQuery, ImageDetailsItem, ImageItem, ImagePull, ImageRefParams, PullLine, errors } from '../schemas.ts';

const tags = ['images'];
type Ref = { Params: { ref: string } };
type Line = Static<typeof PullLine>;

/** The API's view of an image. */
export function imageItem(i: ImageSummary) {
  return {
    digest: i.manifestDigest,
    references: i.refs,
    index_digest: i.indexDigest ?? null,
    platform: i.platform,
    created: i.created ?? null,
    pulled_at: i.pulledAt ?? null,
    size: i.size,
    size_on_disk: i.bytesOnDisk,
    disk: i.disk ? { fs_type: i.disk.fsType, bytes: i.disk.bytes } : null,
    containers: i.users.map((u) => ({ id: u.id, name: u.name })),
  };
}

export function imageDetailsItem(i: ImageDetails) {
  const c = i.config;
  return {
    ...imageItem(i),
    media_type: i.mediaType,
    layers: i.layers.map((l) => ({ digest: l.digest, size: l.size, media_type: l.mediaType })),
    config: {
      entrypoint: c.entrypoint,
      cmd: c.cmd,
      env: c.env,
      exposed_ports: c.exposedPorts,
      volumes: c.volumes,
      healthcheck: c.healthcheck
        ? {
            test: c.healthcheck.test,
            interval_ns: c.healthcheck.intervalNs,
            timeout_ns: c.healthcheck.timeoutNs,
            start_period_ns: c.healthcheck.startPeriodNs,
            retries: c.healthcheck.retries,
          }
        : null,
      user: c.user,
      workdir: c.workingDir,
      labels: c.labels,
      stop_signal: c.stopSignal,
    },
  };
}

/** A progress event as a line of the stream. */
function progressLine(p: PullProgress): Line {
  switch (p.type) {
    case 'resolving':
      return { status: 'resolving', image: p.ref };
    case 'resolved':
      return { status: 'resolved', image: p.ref, digest: p.manifestDigest, layers: p.layers };
    case 'layer':
      return { status: 'layer', digest: p.digest, state: p.status, done: p.downloaded, total: p.size };
    case 'building':
      return { status: 'building', digest: p.manifestDigest };
    case 'ready':
      return { status: 'done', image: p.ref, digest: p.manifestDigest };
  }
}

export function imageRoutes(app: FastifyInstance, images: ImageLibrary): void {
  app.get(
    '/v1/images',
    {
      schema: {
        tags,
        summary: 'List local images',
        response: { 200: Type.Object({ items: Type.Array(ImageItem) }) },
      },
    },
    async () => ({ items: (await images.list()).map(imageItem) }),
  );

  app.get<Ref>(
    '/v1/images/:ref',
    {
      schema: {
        tags,
        summary: 'Inspect a local image, by reference or digest',
        params: ImageRefParams,
        response: { 200: Type.Object({ item: ImageDetailsItem }), ...errors(400, 404) },
      },
    },
    async (req) => ({ item: imageDetailsItem(await images.inspect(req.params.ref)) }),
  );

  app.post<{ Body: Static<typeof ImagePull> }>(
    '/v1/images/pull',
    {
      schema: {
        tags,
        summary: 'Pull an image and build its disk',
        description:
          'Asks the registry even if the image is here (a tag may have moved). Answers when done: `{"item"}`, or ' +
          'with `Accept: application/x-ndjson` a stream of progress lines (always 200; a failure is the last line, ' +
          '`{"status": "error", "error": {...}}`).',
        body: ImagePull,
        response: {
          200: {
            content: {
              'application/json': { schema: Type.Object({ item: ImageItem }) },
              'application/x-ndjson': { schema: PullLine },
            },
          },
          ...errors(400, 404, 409, 413, 415, 503),
        },
      },
    },
    (req, reply) => pull(images, req, reply),
  );

  app.delete<Ref & { Querystring: Static<typeof ForceQuery> }>(
    '/v1/images/:ref',
    {
      schema: {
        tags,
        summary: 'Remove a reference, or every reference to a digest',
        description:
          'Frees the blobs and disk of an image nothing else names or uses. 409 naming the containers that use ' +
          'it, unless `force=true`: then a running container keeps its disk, and a stopped one pulls the image again when it starts.',
        params: ImageRefParams,
        querystring: ForceQuery,
        response: {
          200: Type.Object({
            untagged: Type.Array(Type.String()),
            digest: Type.String(),
            freed_bytes: Type.Integer(),
          }),
          ...errors(400, 404, 409),
        },
      },
    },
    async (req) => {
      const r = await images.remove(req.params.ref, { force: req.query.force === true });
      return { untagged: r.refs, digest: r.manifestDigest, freed_bytes: r.collected.freedBytes };
    },
  );

  app.post(
    '/v1/images/prune',
    {
      schema: {
        tags,
        summary: 'Remove every image no container uses',
        description: 'What a pull in progress is using stays.',
        response: {
          200: Type.Object({
            removed: Type.Array(Type.Object({ digest: Type.String(), references: Type.Array(Type.String()) })),
            removed_disks: Type.Integer(),
            removed_blobs: Type.Integer(),
            freed_bytes: Type.Integer(),
          }),
        },
      },
    },
    async () => {
      const r = await images.prune();
      return {
        removed: r.images.map((i) => ({ digest: i.manifestDigest, references: i.refs })),
        removed_disks: r.disks,
        removed_blobs: r.blobs,
        freed_bytes: r.freedBytes,
      };
    },
  );
}

async function pull(images: ImageLibrary, req: FastifyRequest<{ Body: Static<typeof ImagePull> }>, reply: FastifyReply) {
  if (!(req.headers.accept ?? '').includes('application/x-ndjson')) {
    const digest = await images.pull(req.body.image, { build: true });
    return reply.type('application/json').send({ item: imageItem(await images.inspect(digest)) });
  }
  const out = new PassThrough();
  const write = (line: Line) => {
    if (!out.destroyed && !out.writableEnded) out.write(`${JSON.stringify(line)}\n`);
  };
  // The pull goes on if the client goes: its result is kept, as any pull's.
  void images
    .pull(req.body.image, { build: true, onProgress: (p) => write(progressLine(p)) })
    .catch((e: unknown) => {
      const [status, body] = toResponse(e);
      if (status >= 500) req.log.error({ err: e }, 'pull failed');
      write({ status: 'error', error: body.error });
    })
    .finally(() => out.end());
  // Fastify sends a stream's headers with its first bytes; the client sees them at once.
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  return reply.type('application/x-ndjson').send(out);
}
