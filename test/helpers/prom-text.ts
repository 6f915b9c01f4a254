/**
 * A strict parser of Prometheus's text exposition format (0.0.4), for tests: it throws on any line a
 * Prometheus server would refuse or that breaks the format's rules, naming the line. Checked: metric and label
 * names, label value escapes (only \\, \" and \n), values (Go floats, +Inf, -Inf, NaN), optional integer
 * timestamps, HELP and TYPE at most once per family and before its samples, a family's lines together, no
 * series twice, counters not negative, and each histogram's buckets (increasing `le`, cumulative counts, a
 * `+Inf` bucket equal to `_count`, a `_sum`).
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help?: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, n: number) => {
    if (current === family) return;
    if (closed.has(family)) throw new Error(`line ${n}: the lines of ${family} are not together`);
    if (current !== undefined) closed.add(current);
    current = family;
  };
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
    return f;
  };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // an ordinary comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!)) throw new Error(`line ${n}: bad metric name ${JSON.stringify(name)}`);
      enter(name!, n);
      const f = family(name!);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`line ${n}: second HELP for ${name}`);
        f.help = unescape(rest, false, n);
      } else {
        if (!TYPES.has(rest)) throw new Error(`line ${n}: unknown type ${JSON.stringify(rest)}`);
        if (typed.has(name!) || f.samples.length > 0) throw new Error(`line ${n}: TYPE of ${name} after its samples or twice`);
        f.type = rest as ParsedFamily['type'];
        typed.add(name!);
      }
      return;
    }
    const s = parseSample(line, n);
    const base = baseName(s.name, families);
    enter(base, n);
    const f = family(base);
    if (f.type === 'histogram' && base === s.name) throw new Error(`line ${n}: a histogram has only _bucket, _sum and _count samples`);
    if (f.type !== 'histogram' && f.type !== 'summary' && base !== s.name) throw new Error(`line ${n}: ${s.name} outside a histogram or summary`);
    if (f.type === 'counter' && !(s.value >= 0)) throw new Error(`line ${n}: counter ${s.name} is ${s.value}`);
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    if (seriesSeen.has(key)) throw new Error(`line ${n}: series ${key} twice`);
    seriesSeen.add(key);
    f.samples.push(s);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function baseName(name: string, families: Map<string, ParsedFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = families.get(base)?.type;
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

function parseSample(line: string, n: number): ParsedSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) throw new Error(`line ${n}: no metric name: ${JSON.stringify(line)}`);
  const name = m[1]!;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      if (line[i] === '}') break;
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!lm) throw new Error(`line ${n}: bad label at column ${i + 1}: ${JSON.stringify(line)}`);
      const label = lm[1]!;
      if (!LABEL.test(label) || label in labels) throw new Error(`line ${n}: bad or repeated label ${label}`);
      i += lm[0].length;
      let raw = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`line ${n}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          raw += c + (line[i + 1] ?? '');
          i += 2;
          continue;
        }
        raw += c;
        i++;
      }
      labels[label] = unescape(raw, true, n);
      i++;
      if (line[i] === ',') {
        i++;
        if (line[i] === '}') break; // a trailing comma is allowed
        continue;
      }
      if (line[i] !== '}') throw new Error(`line ${n}: expected , or } at column ${i + 1}`);
    }
    i++;
  }
  const rest = line.slice(i);
  const vm = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/.exec(rest);
  if (!vm) throw new Error(`line ${n}: expected a value after the name and labels: ${JSON.stringify(line)}`);
  return { name, labels, value: parseValue(vm[1]!, n) };
}

function parseValue(v: string, n: number): number {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  if (!FLOAT.test(v)) throw new Error(`line ${n}: bad value ${JSON.stringify(v)}`);
  return Number(v);
}

function unescape(raw: string, quoteAllowed: boolean, n: number): string {
  return raw.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quoteAllowed) return '"';
    throw new Error(`line ${n}: bad escape \\${c}`);
  });
}

function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${s.name}: a bucket without le`);
      g.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name.endsWith('_sum')) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [key, g] of groups) {
    const what = `${f.name}${key}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${what}: no _sum or _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${what}: le not increasing`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${what}: bucket counts not cumulative`);
    }
    const last = g.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${what}: no +Inf bucket`);
    if (last[1] !== g.count) throw new Error(`${what}: the +Inf bucket (${last[1]}) is not _count (${g.count})`);
  }
}

/** The value of the series of `name` with exactly `labels` (undefined if absent). */
export function valueOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
