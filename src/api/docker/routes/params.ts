/**
 * Docker's query parameters: booleans as the daemon reads them (`1`, `true`, `True`; `0`, `false`, or empty
 * for false) and integers with dockerd's words for a bad one.
 * @module
 */
import { invalidParameter } from '../errors.ts';

export function boolParam(v: string | undefined): boolean {
  if (v === undefined) return false;
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'false' || s === 'no');
}

export function intParam(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalidParameter(`invalid value for ${name}: ${JSON.stringify(v)}: not an integer`);
  return n;
}
