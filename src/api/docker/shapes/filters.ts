/**
 * `GET /containers/json?filters=`: Docker's filter document (`{"status": ["running"]}`, or the older
 * `{"status": {"running": true}}`) and the filters Hearth answers: status, name, id, label, ancestor,
 * exited, health. Several values of one filter match any; different filters must all match.
 * @module
 */
import type { ContainerRecord } from '../../../model/index.ts';
import { invalidParameter } from '../errors.ts';
import { canonical } from '../resolve.ts';
import { DOCKER_STATUSES } from './container-state.ts';
import { exitCodeOf, shownStatus, type ContainerFacts } from './container.ts';

export type Filters = Map<string, string[]>;

const SUPPORTED = new Set(['status', 'name', 'id', 'label', 'ancestor', 'exited', 'health']);
/** dockerd's filters Hearth does not answer (refused by name rather than ignored). */
const KNOWN = new Set(['before', 'since', 'volume', 'network', 'publish', 'expose', 'isolation', 'is-task']);

export function parseFilters(raw: string | undefined): Filters {
  const out: Filters = new Map();
  if (raw === undefined || raw === '') return out;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw invalidParameter(`invalid filter: ${raw}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalidParameter(`invalid filter: ${raw}`);
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!SUPPORTED.has(key)) {
      if (KNOWN.has(key)) throw invalidParameter(`the filter '${key}' is not supported by Hearth`);
      throw invalidParameter(`invalid filter '${key}'`);
    }
    const values = Array.isArray(v) ? v : Object.keys((v ?? {}) as object);
    if (values.some((x) => typeof x !== 'string')) throw invalidParameter(`invalid filter: ${raw}`);
    out.set(key, values as string[]);
  }
  for (const s of out.get('status') ?? []) {
    if (!(DOCKER_STATUSES as readonly string[]).includes(s)) {
      throw invalidParameter(`invalid filter 'status=${s}': invalid value; valid values are ${DOCKER_STATUSES.join(', ')}`);
    }
  }
  for (const s of out.get('exited') ?? []) if (!/^-?\d+$/.test(s)) throw invalidParameter(`invalid filter 'exited=${s}'`);
  for (const s of out.get('health') ?? []) {
    if (!['starting', 'healthy', 'unhealthy', 'none'].includes(s)) throw invalidParameter(`invalid filter 'health=${s}'`);
  }
  return out;
}

/** `includeStopped`: `all` (or a limit, or a status filter); otherwise running, paused and restarting ones (Docker's Running). */
export function matchesFilters(c: ContainerRecord, facts: ContainerFacts, filters: Filters, includeStopped: boolean): boolean {
  const status = shownStatus(c, facts);
  if (!includeStopped && status !== 'running' && status !== 'paused' && status !== 'restarting') return false;
  const any = (key: string, test: (v: string) => boolean) => {
    const values = filters.get(key);
    return values === undefined || values.some(test);
  };
  const labels = { ...(facts.image?.labels ?? {}), ...c.labels };
  return (
    any('status', (s) => s === status) &&
    any('name', (n) => nameMatches(c.name, n)) &&
    any('id', (id) => c.container_id.startsWith(id)) &&
    (filters.get('label') ?? []).every((l) => labelMatches(labels, l)) &&
    any('ancestor', (a) => ancestorMatches(c, facts, a)) &&
    any('exited', (e) => (status === 'exited' || status === 'restarting') && exitCodeOf(c) === Number(e)) &&
    any('health', (h) => (c.health?.status ?? 'none') === h)
  );
}

/** dockerd matches names as a regular expression against `/name`; a bad pattern matches as plain text. */
function nameMatches(name: string, pattern: string): boolean {
  try {
    return new RegExp(pattern).test(`/${name}`);
  } catch {
    return `/${name}`.includes(pattern);
  }
}

/** `key` (present) or `key=value`, every one given must hold. */
function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** The image by reference (tag defaulting to latest), or its id (`sha256:...` or a prefix of the hex). */
function ancestorMatches(c: ContainerRecord, facts: ContainerFacts, a: string): boolean {
  if (facts.imageId !== '') {
    const hex = facts.imageId.replace(/^sha256:/, '');
    if (a.startsWith('sha256:') ? facts.imageId.startsWith(a) : /^[0-9a-f]{4,64}$/.test(a) && hex.startsWith(a)) return true;
  }
  const mine = canonical(c.image);
  return mine !== '' && mine === canonical(a);
}
