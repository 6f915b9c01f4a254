/**
 * `GET /metrics`: the manager's metrics in Prometheus's text format, behind the API token like every route
 * but the few open ones (src/api/auth.ts).
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CONTENT_TYPE } from '../metrics/exposition.ts';
import type { HearthMetrics } from '../metrics/hearth-metrics.ts';

export function metricsRoutes(app: FastifyInstance, metrics: HearthMetrics): void {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['service'],
        summary: 'Prometheus metrics',
        description: 'Text exposition format 0.0.4 (docs/api.md lists the series).',
        response: { 200: { content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_req, reply) => reply.type(CONTENT_TYPE).send(await metrics.registry.text()),
  );
}
