/**
 * TODO(docker-core): being built.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { DockerContext } from '../context.ts';

export function containerStreamRoutes(_app: FastifyInstance, _ctx: DockerContext): void {}
