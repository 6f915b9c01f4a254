/**
 * Docker's `filters` query parameter: a JSON object of names to values, written by the CLI as
 * `{"label":{"a=b":true}}` and by older clients (docker-py, Compose 1.x) as `{"label":["a=b"]}`. Both read
 * as a map of names to lists of values. A name a route does not know is dockerd's 400 (`invalid filter`).
 * @module
 */
import { DockerError } from './errors.ts';

export type Filters = ReadonlyMap<string, readonly string[]>;

/** The filters of `text`, limited to `known` names. */
export function parseFilters(text: string | undefined, known: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  if (text === undefined || text.trim() === '') return out;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new DockerError(400, `invalid filter: the filters parameter is not JSON: ${text}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new DockerError(400, 'invalid filter: the filters parameter must be a JSON object');
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!known.includes(name)) throw new DockerError(400, `invalid filter '${name}'`);
    const values = Array.isArray(value)
      ? value.map(String)
      : value !== null && typeof value === 'object'
        ? Object.entries(value as Record<string, unknown>).filter(([, on]) => on === true).map(([v]) => v)
        : [String(value)];
    out.set(name, values);
  }
  return out;
}

/** Does `labels` hold every `key` or `key=value` of the `label` filter? */
export function matchLabels(filters: Filters, labels: Readonly<Record<string, string>>): boolean {
  return (filters.get('label') ?? []).every((want) => {
    const eq = want.indexOf('=');
    return eq < 0 ? want in labels : labels[want.slice(0, eq)] === want.slice(eq + 1);
  });
}

/** Does `value` pass the filter `name` (no such filter: yes; else one of its values matches)? */
export function matchOne(filters: Filters, name: string, test: (want: string) => boolean): boolean {
  const wanted = filters.get(name);
  return wanted === undefined || wanted.length === 0 || wanted.some(test);
}

/** A boolean filter (`dangling=true`): undefined when absent; 400 for anything but true/false/1/0. */
export function booleanFilter(filters: Filters, name: string): boolean | undefined {
  const v = filters.get(name);
  if (!v || v.length === 0) return undefined;
  const last = v.at(-1)!.toLowerCase();
  if (last === 'true' || last === '1') return true;
  if (last === 'false' || last === '0') return false;
  throw new DockerError(400, `invalid filter '${name}=${v.at(-1)}': true or false`);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A time filter (`until=…`) as dockerd reads one: Unix seconds (with a fraction), an RFC 3339 time, or a Go
 * duration back from `now` (`24h`, `1h30m`: the CLI passes a prune's `--filter until=24h` as it is). Milliseconds.
 */
export function filterTime(text: string, name: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text) ? [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)] : [];
  if (parts.length > 0) return now - parts.reduce((ms, [, n, unit]) => ms + Number(n) * DURATION_UNITS[unit!]!, 0);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new DockerError(400, `invalid filter '${name}=${text}': a time (Unix seconds, RFC 3339) or a duration (24h)`);
  return ms;
}
