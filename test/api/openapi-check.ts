/**
 * Checks a response against the OpenAPI document the app serves (the subset of JSON Schema our TypeBox
 * schemas produce: type, nullable, properties, required, additionalProperties, items, enum, anyOf,
 * pattern, minimum/maximum). Returns the problems found, empty when the value conforms.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

type Schema = Record<string, any>;

export function check(schema: Schema, value: unknown, path = ''): string[] {
  if (value === null) return schema.nullable || schema.type === 'null' ? [] : [`${path || '/'} is null`];
  if (schema.anyOf) {
    return (schema.anyOf as Schema[]).some((s) => check(s, value, path).length === 0) ? [] : [`${path} matches no anyOf branch`];
  }
  const problems: string[] = [];
  const t = schema.type;
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (t && !(t === actual || (t === 'number' && actual === 'integer'))) return [`${path} is ${actual}, expected ${t}`];
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path} ${JSON.stringify(value)} not in enum`);
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) problems.push(`${path} does not match ${schema.pattern}`);
  if (schema.format === 'date-time' && typeof value === 'string' && Number.isNaN(Date.parse(value))) problems.push(`${path} is not a date-time`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path} > ${schema.maximum}`);
  }
  if (actual === 'array' && schema.items) (value as unknown[]).forEach((v, i) => problems.push(...check(schema.items, v, `${path}/${i}`)));
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) problems.push(`${path}/${r} is missing`);
    for (const [k, v] of Object.entries(obj)) {
      const p = schema.properties?.[k];
      if (p) problems.push(...check(p, v, `${path}/${k}`));
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') problems.push(...check(schema.additionalProperties, v, `${path}/${k}`));
      else if (schema.properties) problems.push(`${path}/${k} is not in the schema`);
    }
  }
  return problems;
}

/** The response schema the document gives for this route, status and content type. */
export async function responseSchema(app: FastifyInstance, method: string, path: string, status: number, type = 'application/json'): Promise<Schema> {
  const doc = (await app.inject({ url: '/openapi.json' })).json();
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`no ${method} ${path} in the OpenAPI document`);
  const res = op.responses[String(status)];
  if (!res) throw new Error(`no ${status} response for ${method} ${path}`);
  const schema = res.content?.[type]?.schema;
  if (!schema) throw new Error(`no ${type} schema for ${status} ${method} ${path}`);
  return schema;
}

/** Problems of `res` against the document (route given as the OpenAPI path, e.g. /v1/containers/{id}). */
export async function conforms(app: FastifyInstance, method: string, path: string, res: LightMyRequestResponse): Promise<string[]> {
  const schema = await responseSchema(app, method, path, res.statusCode);
  return check(schema, res.json());
}
