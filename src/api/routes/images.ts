/**
 * /v1/images: the schemas and one call into the image library per route (the image store, given to the
 * app as the containers layer's `ImageLibrary`). A reference in a path is one URL-encoded segment.
 * @module
 */
import { PassThrough } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ImageDetails, ImageLibrary, ImageSummary, PullProgress } from '../../containers/deps.ts';
import { HearthError } from '../../errors.ts';
import { toResponse } from '../error-handler.ts';
import { ForceQuery, ImageDetailsItem, ImageItem, ImagePull, ImageRefParams, PullLine } from '../image-schemas.ts';
import { errors } from '../schemas.ts';

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
            start_interval_ns: c.healthcheck.startIntervalNs,
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

/**
 * The pulls the API has under way. Each is bounded by `timeoutMs` (the containers' `timeouts.imageMs`),
 * and all are ended when the app closes (`end`, from Fastify's preClose): their answers say so at once,
 * and the server does not wait for them. The pull itself is not stopped (its result is kept, as any pull's);
 * it goes on, or ends with the process.
 */
class ApiPulls {
  private readonly open = new Set<(e: HearthError) => void>();
  private closing = false;
  constructor(private readonly timeoutMs: number) {}

  /** `pull`, or the reason it was given up on: the timeout or the shutdown. */
  bound<T>(what: string, pull: Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(shuttingDown());
    return new Promise<T>((resolve, reject) => {
      const give = (e: HearthError) => {
        this.open.delete(give);
        clearTimeout(timer);
        reject(e);
      };
      const timer = setTimeout(
        () => give(new HearthError('Unavailable', 'HEARTH_ERR_TIMEOUT', `pulling ${what} timed out after ${this.timeoutMs / 1000} s`)),
        this.timeoutMs,
      );
      this.open.add(give);
      pull.then(
        (v) => {
          this.open.delete(give);
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          this.open.delete(give);
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  end(): void {
    this.closing = true;
    for (const give of [...this.open]) give(shuttingDown());
  }
}

function shuttingDown(): HearthError {
  return new HearthError('Unavailable', 'HEARTH_ERR_SHUTTING_DOWN', 'the manager is shutting down; the pull was abandoned');
}

export function imageRoutes(app: FastifyInstance, images: ImageLibrary, opts: { timeoutMs: number }): void {
  const pulls = new ApiPulls(opts.timeoutMs);
  // before the server waits for open requests: a pull's answer must not hold the shutdown
  app.addHook('preClose', async () => pulls.end());
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
    (req, reply) => pull(images, pulls, req, reply),
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

async function pull(images: ImageLibrary, pulls: ApiPulls, req: FastifyRequest<{ Body: Static<typeof ImagePull> }>, reply: FastifyReply) {
  const image = req.body.image;
  if (!(req.headers.accept ?? '').includes('application/x-ndjson')) {
    const digest = await pulls.bound(image, images.pull(image, { build: true }));
    return reply.type('application/json').send({ item: imageItem(await images.inspect(digest)) });
  }
  const out = new PassThrough();
  const write = (line: Line) => {
    if (!out.destroyed && !out.writableEnded) out.write(`${JSON.stringify(line)}\n`);
  };
  // The pull goes on if the client goes: its result is kept, as any pull's.
  void pulls
    .bound(image, images.pull(image, { build: true, onProgress: (p) => write(progressLine(p)) }))
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
