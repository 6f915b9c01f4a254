/**
 * The Docker routes, one file per resource. Each is given the Fastify instance (paths unversioned: the
 * server strips `/v1.NN`) and the DockerContext (the manager, the libraries, the router of hijacked
 * connections).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { DockerContext } from '../context.ts';
import { containerStreamRoutes } from './container-streams.ts';
import { containerRoutes } from './containers.ts';
import { execRoutes } from './execs.ts';
import { systemRoutes } from './system.ts';

export function dockerRoutes(app: FastifyInstance, ctx: DockerContext): void {
  systemRoutes(app, ctx);
  containerRoutes(app, ctx);
  containerStreamRoutes(app, ctx);
  execRoutes(app, ctx);
}
