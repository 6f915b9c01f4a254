/**
 * The Docker routes, one file per resource. Each is given the Fastify instance (paths unversioned: the
 * server strips `/v1.NN`) and the DockerContext (the manager, the libraries, the router of hijacked
 * connections).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { DockerContext } from '../context.ts';
import { archiveRoutes } from './archive.ts';
import { containerControlRoutes } from './container-control.ts';
import { containerPruneRoutes } from './container-prune.ts';
import { containerStreamRoutes } from './container-streams.ts';
import { containerRoutes } from './containers.ts';
import { diskUsageRoutes } from './disk-usage.ts';
import { eventRoutes } from './events.ts';
import { execRoutes } from './execs.ts';
import { imageRoutes } from './images.ts';
import { networkRoutes } from './networks.ts';
import { registryAuthRoutes } from './registry-auth.ts';
import { systemRoutes } from './system.ts';
import { volumeRoutes } from './volumes.ts';

export function dockerRoutes(app: FastifyInstance, ctx: DockerContext): void {
  systemRoutes(app, ctx);
  containerRoutes(app, ctx);
  containerControlRoutes(app, ctx);
  containerStreamRoutes(app, ctx);
  archiveRoutes(app, ctx);
  execRoutes(app, ctx);
  imageRoutes(app, ctx);
  registryAuthRoutes(app, ctx);
  volumeRoutes(app, ctx);
  networkRoutes(app, ctx);
  eventRoutes(app, ctx);
  diskUsageRoutes(app, ctx);
  containerPruneRoutes(app, ctx);
}
