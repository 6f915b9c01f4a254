/**
 * The one place an error becomes an HTTP response: a HearthError's kind picks the status, Fastify's own
 * client errors (validation, bad JSON, body too large) keep theirs, anything else is a 500 that is logged.
 * Body: `{"error": {"code": "HEARTH_ERR_...", "message": "...", "field"?: "body/..."}}`.
 * @module
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError, type ErrorKind } from '../errors.ts';

export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  InvalidArgument: 400,
  Unauthenticated: 401,
  PermissionDenied: 403,
  NotFound: 404,
  AlreadyExists: 409,
  FailedPrecondition: 409,
  Internal: 500,
  Unavailable: 503,
};

/** Codes for Fastify's own client errors, by status. */
const CLIENT_ERROR_CODES: Record<number, `HEARTH_ERR_${string}`> = {
  413: 'HEARTH_ERR_PAYLOAD_TOO_LARGE',
  414: 'HEARTH_ERR_URI_TOO_LONG',
  415: 'HEARTH_ERR_UNSUPPORTED_MEDIA_TYPE',
};

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorHandler(error: FastifyError | HearthError, request: FastifyRequest, reply: FastifyReply): void {
  const [status, body] = toResponse(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  void reply.status(status).type('application/json').send(body);
}

export function toResponse(error: unknown): [number, ErrorBody] {
  if (error instanceof HearthError) {
    const status = STATUS_OF_KIND[error.kind];
    const message = status === 500 ? `internal error: ${error.message}` : error.message;
    return [status, { error: { code: error.code, message, ...(error.field ? { field: error.field } : {}) } }];
  }
  const e = error as FastifyError & { validationContext?: string };
  if (e.validation) {
    const first = e.validation[0];
    const field = `${e.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
    return [400, { error: { code: 'HEARTH_ERR_INVALID_ARGUMENT', message: e.message, field } }];
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return [status, { error: { code: CLIENT_ERROR_CODES[status] ?? 'HEARTH_ERR_INVALID_ARGUMENT', message: e.message } }];
  }
  return [500, { error: { code: 'HEARTH_ERR_INTERNAL', message: 'internal error (see the manager log)' } }];
}
