/**
 * `GET /v1/containers/{id}/stats`: a container's usage once (`{"item"}`), or with `stream=true` a reading every
 * second as NDJSON until the container stops running, the client goes or the manager stops.
 * @module
 */
import { PassThrough } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import { IdParams, errors } from '../schemas.ts';
import { ContainerStatsItem, StatsQuery } from '../stats-schemas.ts';

/** As Docker's stream. */
export const STATS_INTERVAL_MS = 1000;
/** A reader that lets this much wait misses readings rather than the manager holding them for it. */
const STREAM_BUFFER_BYTES = 64 * 1024;

type Request = { Params: { id: string }; Querystring: { stream?: boolean } };

export function statsRoutes(app: FastifyInstance, manager: ContainerManager): void {
  app.get<Request>(
    '/v1/containers/:id/stats',
    {
      schema: {
        tags: ['containers'],
        summary: "A running container's usage: CPU, memory, network, block I/O, pids",
        description:
          "Inside the guest (the container's processes, counted in their cgroup) and on the host (its VMM's CPU time and " +
          'memory, its tap, its disks). `stream=true`: one reading per line (NDJSON) every second, until the container stops ' +
          'running. 409 unless running.',
        params: IdParams,
        querystring: StatsQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: Type.Object({ item: ContainerStatsItem }) },
              'application/x-ndjson': { schema: ContainerStatsItem },
            },
          },
          ...errors(400, 404, 409, 503),
        },
      },
    },
    async (req, reply) => {
      const first = await manager.stats(req.params.id);
      if (!req.query.stream) return reply.type('application/json').send({ item: first });
      const out = new PassThrough();
      out.write(JSON.stringify(first) + '\n');
      let timer: NodeJS.Timeout | undefined;
      let open = true;
      const close = () => {
        if (!open) return;
        open = false;
        clearTimeout(timer);
        out.end();
      };
      const next = async () => {
        try {
          const stats = await manager.stats(req.params.id);
          if (open && out.writableLength < STREAM_BUFFER_BYTES) out.write(JSON.stringify(stats) + '\n');
        } catch {
          // The container stopped running (or the manager is stopping): the stream is over.
          close();
          return;
        }
        if (open) timer = setTimeout(() => void next(), STATS_INTERVAL_MS);
      };
      timer = setTimeout(() => void next(), STATS_INTERVAL_MS);
      reply.raw.once('close', close);
      return reply.type('application/x-ndjson').send(out);
    },
  );
}
