/**
 * Errors in Docker's words: the Engine API answers `{"message": "..."}` with dockerd's status, and the `docker`
 * CLI prints the message after `Error response from daemon: ` (and acts on some statuses: a 404 from create
 * makes `docker run` pull). Routes throw `DockerError` where they know Docker's exact wording (they know the
 * reference the user typed); any other HearthError keeps its message and takes the status of its kind.
 * @module
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../errors.ts';
import { STATUS_OF_KIND } from '../error-handler.ts';

export class DockerError extends Error {
  override readonly name = 'DockerError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const noSuchContainer = (ref: string) => new DockerError(404, `No such container: ${ref}`);
export const noSuchExec = (id: string) => new DockerError(404, `No such exec instance: ${id}`);
export const noSuchImage = (ref: string) => new DockerError(404, `No such image: ${ref}`);
export const invalidParameter = (message: string) => new DockerError(400, message);
export const conflict = (message: string) => new DockerError(409, message);

/** dockerd's words when a name is taken; `name` without its leading slash. */
export const nameInUse = (name: string, holderId: string) =>
  conflict(
    `Conflict. The container name "/${name}" is already in use by container "${holderId}". ` +
      'You have to remove (or rename) that container to be able to reuse that name.',
  );

export const notRunning = (id: string) => conflict(`Container ${id} is not running`);

/** What Hearth does not serve; 501 so that no client takes it for a missing object. */
export const notImplemented = (method: string, path: string, why?: string) =>
  new DockerError(501, `not implemented by Hearth: ${method} ${path}${why ? ` (${why})` : ''}`);

/** Hearth codes whose kind alone (the /v1 API's status of it) would give another status than dockerd's. */
const STATUS_OF_CODE: Partial<Record<string, number>> = {
  HEARTH_ERR_PORT_IN_USE: 500,
  HEARTH_ERR_NET_POOL_EXHAUSTED: 500,
  HEARTH_ERR_TIMEOUT: 500,
};

export function toDockerResponse(error: unknown): [status: number, body: { message: string }] {
  if (error instanceof DockerError) return [error.status, { message: error.message }];
  if (error instanceof HearthError) {
    const status = STATUS_OF_CODE[error.code] ?? STATUS_OF_KIND[error.kind];
    const where = error.field ? ` (${error.field})` : '';
    return [status, { message: `${error.message}${where}` }];
  }
  const e = error as FastifyError;
  if (e.validation) return [400, { message: e.message }];
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return [status, { message: e.message }];
  return [500, { message: 'internal error in Hearth (see the manager log)' }];
}

export function dockerErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const [status, body] = toDockerResponse(error);
  if (status >= 500 && status !== 501) request.log.error({ err: error }, 'docker API request failed');
  void reply.status(status).type('application/json').send(body);
}
