/**
 * /v1/containers/{id}/archive: `docker cp` (GET a tar of a path, HEAD its stat, PUT a tar into a directory),
 * with Docker's `X-Docker-Container-Path-Stat` header. The tar streams both ways; a PUT body is not parsed
 * and not held by the JSON body limit, but counted against ARCHIVE_MAX_BYTES.
 * @module
 */
import { Transform, type Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import { invalidArgument } from '../../errors.ts';
import type { PathStat } from '../../sandbox/sandbox.ts';
import { IdParams, errors } from '../schemas.ts';

/** The largest tar a PUT may send (docs/api.md, Limits). */
export const ARCHIVE_MAX_BYTES = 4 * 1024 * 1024 * 1024;
export const PATH_STAT_HEADER = 'x-docker-container-path-stat';

const tags = ['containers'];
const ArchiveQuery = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 4095, description: 'A path in the container, resolved inside its root filesystem.' }) },
  { additionalProperties: false },
);
type Archive = { Params: { id: string }; Querystring: { path: string } };

/** Go's os.FileMode bits, as Docker's stat header carries them. */
function goFileMode(mode: number): number {
  const type = mode & 0o170000;
  let m = mode & 0o777;
  if (type === 0o040000) m |= 1 << 31;
  else if (type === 0o120000) m |= 1 << 27;
  else if (type === 0o010000) m |= 1 << 25;
  else if (type === 0o140000) m |= 1 << 24;
  else if (type === 0o020000) m |= (1 << 26) | (1 << 21);
  else if (type === 0o060000) m |= 1 << 26;
  if (mode & 0o4000) m |= 1 << 23;
  if (mode & 0o2000) m |= 1 << 22;
  if (mode & 0o1000) m |= 1 << 20;
  return m >>> 0;
}

/** The header's value: base64 of Docker's container.PathStat JSON. */
export function pathStatHeader(stat: PathStat): string {
  const json = { name: stat.name, size: stat.size, mode: goFileMode(stat.mode), mtime: stat.mtime.toISOString(), linkTarget: stat.linkTarget };
  return Buffer.from(JSON.stringify(json)).toString('base64');
}

/** Passes a body through, failing it once it exceeds ARCHIVE_MAX_BYTES. */
export function capped(body: Readable): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > ARCHIVE_MAX_BYTES) done(tooLarge());
      else done(null, chunk);
    },
  });
  body.on('error', (e) => counter.destroy(e));
  return body.pipe(counter);
}

const tooLarge = () =>
  invalidArgument('HEARTH_ERR_ARCHIVE_TOO_LARGE', `the archive exceeds ${ARCHIVE_MAX_BYTES} bytes (docs/api.md, Limits)`, 'body');

export function copyRoutes(app: FastifyInstance, manager: ContainerManager): void {
  // The tar reaches the handler as the request stream itself.
  app.addContentTypeParser('application/x-tar', (_req, payload, done) => done(null, payload));

  app.get<Archive>(
    '/v1/containers/:id/archive',
    {
      exposeHeadRoute: false,
      schema: {
        tags,
        summary: 'A tar of a path in a running container (docker cp out)',
        description:
          'Streams `application/x-tar`: the path (a file, a directory with everything under it, a symlink as a link) ' +
          'named by its last component. `X-Docker-Container-Path-Stat` carries its stat as base64 JSON (as Docker). ' +
          '`..` and symlinks resolve inside the container root. 404 for a missing path; 409 unless running.',
        params: IdParams,
        querystring: ArchiveQuery,
        response: {
          200: { description: 'A tar archive', content: { 'application/x-tar': { schema: Type.String({ format: 'binary' }) } } },
          ...errors(400, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const { stat, tar } = await manager.archive(req.params.id, req.query.path);
      return reply.header(PATH_STAT_HEADER, pathStatHeader(stat)).type('application/x-tar').send(tar);
    },
  );

  app.head<Archive>(
    '/v1/containers/:id/archive',
    {
      schema: {
        tags,
        summary: "A path's stat in a running container",
        description: 'Only the `X-Docker-Container-Path-Stat` header (base64 JSON: name, size, mode, mtime, linkTarget). 404 for a missing path.',
        params: IdParams,
        querystring: ArchiveQuery,
        response: { 200: { description: 'The stat, in the header', type: 'null' }, ...errors(400, 404, 409) },
      },
    },
    async (req, reply) => {
      const stat = await manager.statPath(req.params.id, req.query.path);
      return reply.header(PATH_STAT_HEADER, pathStatHeader(stat)).code(200).send();
    },
  );

  app.put<Archive>(
    '/v1/containers/:id/archive',
    {
      schema: {
        tags,
        summary: 'Extract a tar into a directory of a running container (docker cp in)',
        description:
          'The body is a tar (`Content-Type: application/x-tar`), streamed to the guest, at most 4 GiB. Entries are ' +
          'created inside the directory `path` (which must exist): neither `..` nor a symlink, in the container or ' +
          'in the archive, places anything outside it. Modes, owners and mtimes come from the archive. 400 for a ' +
          'bad archive or a path that is not a directory, 404 for a missing one, 409 unless running.',
        params: IdParams,
        querystring: ArchiveQuery,
        response: { 200: Type.Object({}), ...errors(400, 404, 409) },
      },
    },
    async (req, reply) => {
      try {
        const length = Number(req.headers['content-length'] ?? 0);
        if (length > ARCHIVE_MAX_BYTES) throw tooLarge();
        const body = req.body as Readable | undefined;
        if (!body || typeof (body as Readable).pipe !== 'function') {
          throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', 'the body must be a tar archive (Content-Type: application/x-tar)', 'body');
        }
        await manager.extractArchive(req.params.id, req.query.path, capped(body));
        return {};
      } catch (e) {
        // Refused before its body was read: the rest of the tar would be taken for the next request on this
        // connection, so the connection ends with the answer.
        reply.header('connection', 'close');
        throw e;
      }
    },
  );
}
