/**
 * Errors are values with a kind, a stable code and a message a person can act on.
 * Layers create or wrap them (keeping `cause`); only the HTTP layer maps a kind to a status.
 * Every code is listed in docs/errors.md, and a test keeps the two in step.
 */
export type ErrorKind =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'Internal';

export class HearthError extends Error {
  override readonly name = 'HearthError';
  constructor(
    readonly kind: ErrorKind,
    readonly code: `HEARTH_ERR_${string}`,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
  readonly field: string | undefined;
}

export function isHearthError(e: unknown, code?: string): e is HearthError {
  return e instanceof HearthError && (code === undefined || e.code === code);
}

/** A readable one-line description of any thrown value. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Shorthand for the common kinds; `field` names the request part at fault, as in `body/restart_policy`. */
export const invalidArgument = (code: `HEARTH_ERR_${string}`, message: string, field?: string) =>
  new HearthError('InvalidArgument', code, message, { field });
export const notFound = (code: `HEARTH_ERR_${string}`, message: string) => new HearthError('NotFound', code, message);
export const failedPrecondition = (code: `HEARTH_ERR_${string}`, message: string, cause?: unknown) =>
  new HearthError('FailedPrecondition', code, message, { cause });
