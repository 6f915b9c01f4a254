/**
 * Fastify's validator, built on TypeBox's compiler instead of Ajv: bodies are checked as sent (no type
 * coercion, so `"name": 5` is a 400, not "5"); query strings and path parameters are converted from text
 * first. The first error becomes one message naming the field, e.g.
 * `body/restart_policy must be one of no, always, on-failure`.
 * @module
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)));
  const c = check;
  const convert = httpPart === 'querystring' || httpPart === 'params' || httpPart === 'headers';
  return (data: unknown) => {
    const value = convert ? Value.Convert(schema, data) : data;
    if (c.Check(value)) return { value };
    const first = innermost(c.Errors(value).First()!);
    return { error: [{ instancePath: first.path, message: describeValueError(first) }] as never };
  };
};

/** Fastify's schemaErrorFormatter: one message, for the first error. */
export function schemaErrorFormatter(errors: Array<{ instancePath?: string; message?: string }>, dataVar: string): Error {
  const e = errors[0];
  return new Error(`${dataVar}${e?.instancePath ?? ''} ${e?.message ?? 'is invalid'}`);
}

type Schema = TSchema & Record<string, unknown>;

/**
 * An object, array or string given where one or null is allowed (`Nullable(Type.Object(...))`): the error
 * inside it, so the message names the field at fault (`body/healthcheck/interval_s`) or the rule broken (a
 * string's pattern), not the union.
 */
function innermost(e: ValueError): ValueError {
  if (e.type !== ValueErrorType.Union || e.value === null || (typeof e.value !== 'object' && typeof e.value !== 'string')) return e;
  const kind = Array.isArray(e.value) ? 'array' : typeof e.value;
  const i = (((e.schema as Schema).anyOf as Schema[] | undefined) ?? []).findIndex((o) => o.type === kind);
  const inner = i < 0 ? undefined : e.errors[i]?.First();
  return inner ? innermost(inner) : e;
}

export function describeValueError(e: ValueError): string {
  const s = e.schema as Schema;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known field';
    case ValueErrorType.Union:
      return describeUnion(s);
    case ValueErrorType.Kind:
      return Array.isArray(s.enum) ? `must be one of ${s.enum.join(', ')}` : 'is invalid';
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}`;
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${s.maxLength} characters`;
    case ValueErrorType.StringPattern:
      return typeof s['x-error'] === 'string' ? s['x-error'] : `must match ${s.pattern}`;
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
      return range(s);
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Array:
      return 'must be an array';
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${s.maxItems} items`;
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.ObjectMaxProperties:
      return `must have at most ${s.maxProperties} entries`;
    case ValueErrorType.ObjectMinProperties:
      return s.minProperties === 1 ? 'must have at least one field' : `must have at least ${s.minProperties} fields`;
    case ValueErrorType.Null:
      return 'must be null';
    default:
      return e.message.charAt(0).toLowerCase() + e.message.slice(1);
  }
}

function describeUnion(s: Schema): string {
  const options = (s.anyOf as Schema[] | undefined) ?? [];
  const article = (t: string) => (/^[aeiou]/.test(t) ? 'an' : 'a');
  const parts = options.map((o) => (o.type === 'null' ? 'null' : o.type === 'integer' ? range(o).slice(8) : `${article(String(o.type))} ${String(o.type)}`));
  return `must be ${parts.join(' or ')}`;
}

function range(s: Schema): string {
  const what = s.type === 'integer' ? 'an integer' : 'a number';
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  if (min !== undefined && max !== undefined) return `must be ${what} from ${min} to ${max}`;
  if (min !== undefined) return `must be ${what} of at least ${min}`;
  if (max !== undefined) return `must be ${what} of at most ${max}`;
  return `must be ${what}`;
}
