/**
 * `docker cp`: `HEAD` a path's stat, `GET` a tar of it, `PUT` a tar into a directory, each with Docker's
 * `X-Docker-Container-Path-Stat` header, through the same copy commands as /v1 (the same size cap).
 * @module
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { isHearthError } from '../../../errors.ts';
import { ARCHIVE_MAX_BYTES, PATH_STAT_HEADER, capped, pathStatHeader } from '../../routes/copy.ts';
import type { DockerContext } from '../context.ts';
import { DockerError, invalidParameter, notRunning } from '../errors.ts';
import { withContainer } from '../resolve.ts';
import { statusOf } from '../shapes/container.ts';

type Archive = { Params: { id: string }; Querystring: Record<string, string | undefined> };

export function archiveRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const { manager } = ctx;
  const pathOf = (q: Record<string, string | undefined>) => {
    if (!q.path) throw invalidParameter('path is required');
    return q.path;
  };
  /** dockerd's words for a missing path; Hearth's copy is live only (a stopped container's files are in no VM). */
  const copying = <T>(ref: string, path: string, f: (id: string) => Promise<T>) =>
    withContainer(ctx, ref, async (c) => {
      if (statusOf(c) !== 'running') {
        throw new DockerError(409, `Container ${c.container_id} is not running: Hearth copies to and from running containers only`);
      }
      try {
        return await f(c.id);
      } catch (e) {
        if (isHearthError(e, 'HEARTH_ERR_PATH_NOT_FOUND')) throw new DockerError(404, `Could not find the file ${path} in container ${ref}`);
        if (isHearthError(e, 'HEARTH_ERR_CONTAINER_STATE')) throw notRunning(c.container_id);
        throw e;
      }
    });

  app.head<Archive>('/containers/:id/archive', async (req, reply) => {
    const path = pathOf(req.query);
    const stat = await copying(req.params.id, path, (id) => manager.statPath(id, path));
    return reply.header(PATH_STAT_HEADER, pathStatHeader(stat)).code(200).send();
  });

  app.get<Archive>('/containers/:id/archive', async (req, reply) => {
    const path = pathOf(req.query);
    const { stat, tar } = await copying(req.params.id, path, (id) => manager.archive(id, path));
    return reply.header(PATH_STAT_HEADER, pathStatHeader(stat)).type('application/x-tar').send(tar);
  });

  app.put<Archive>('/containers/:id/archive', async (req, reply) => {
    const path = pathOf(req.query);
    try {
      if (Number(req.headers['content-length'] ?? 0) > ARCHIVE_MAX_BYTES) throw invalidParameter(`the archive exceeds ${ARCHIVE_MAX_BYTES} bytes`);
      const body = req.body as Readable | undefined;
      if (!body || typeof body.pipe !== 'function') throw invalidParameter('the body must be a tar archive');
      await copying(req.params.id, path, (id) => manager.extractArchive(id, path, capped(body)));
      return reply.code(200).send();
    } catch (e) {
      // Refused before the body was read: the rest of it must not be taken for the next request.
      void reply.header('connection', 'close');
      throw e;
    }
  });
}
