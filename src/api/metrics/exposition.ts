/**
 * Metrics in Prometheus's text exposition format (version 0.0.4), without a dependency: a registry of
 * counters, gauges and histograms that code updates as things happen, and of collected families whose
 * samples are computed at each scrape (from the store, or from a container's stats). Shaped after
 * prom-client's API (`labelNames`, `inc`, `set`, `observe`), which it would be a small change to swap in.
 *
 * Every family declares its label names; a sample with other labels is a programming error and throws, so
 * what is exposed always parses. Collected families are emitted afresh at each scrape: a deleted container's
 * series go with it.
 * @module
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

export interface MetricInfo {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention `hearth_..._seconds`, `..._total`. */
  name: string;
  help: string;
  labelNames?: readonly string[];
}

/** What a collector is given to report a sample of one of the families it declared. */
export type Emit = (name: string, labels: Labels, value: number) => void;

/** The default buckets of Prometheus's client libraries, in seconds: API requests. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Family {
  readonly labelNames: readonly string[];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    labelNames: readonly string[] = [],
  ) {
    if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not valid`);
    for (const l of labelNames) if (!LABEL.test(l) || l.startsWith('__') || l === 'le') throw new Error(`label name ${JSON.stringify(l)} is not valid`);
    this.labelNames = labelNames;
  }

  /** The labels in declared order, as the key of a series; throws unless exactly the declared ones are given. */
  protected key(labels: Labels): string {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || !this.labelNames.every((l) => typeof labels[l] === 'string')) {
      throw new Error(`${this.name} takes labels [${this.labelNames.join(', ')}], not [${given.join(', ')}]`);
    }
    return JSON.stringify(this.labelNames.map((l) => labels[l]));
  }

  protected labelsOf(key: string): Labels {
    const values = JSON.parse(key) as string[];
    return Object.fromEntries(this.labelNames.map((l, i) => [l, values[i]!]));
  }

  abstract lines(): string[];

  header(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
  }
}

class Scalar extends Family {
  protected readonly values = new Map<string, number>();

  lines(): string[] {
    return [...this.values].map(([k, v]) => sample(this.name, this.labelsOf(k), v));
  }
}

export class Counter extends Scalar {
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up`);
    const k = this.key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
}

export class Gauge extends Scalar {
  set(labels: Labels, value: number): void {
    this.values.set(this.key(labels), value);
  }
}

export class Histogram extends Family {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(info: MetricInfo, readonly buckets: readonly number[]) {
    super(info.name, info.help, 'histogram', info.labelNames);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new Error(`${info.name}: buckets must be finite and increasing`);
    }
  }

  observe(labels: Labels, value: number): void {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const labels = this.labelsOf(k);
      this.buckets.forEach((b, i) => out.push(sample(`${this.name}_bucket`, { ...labels, le: String(b) }, s.counts[i]!)));
      out.push(sample(`${this.name}_bucket`, { ...labels, le: '+Inf' }, s.count));
      out.push(sample(`${this.name}_sum`, labels, s.sum));
      out.push(sample(`${this.name}_count`, labels, s.count));
    }
    return out;
  }
}

/** Families whose samples one function computes at each scrape. */
class Collected extends Family {
  private current: string[] = [];
  private seen = new Set<string>();

  begin(): void {
    this.current = [];
    this.seen = new Set();
  }

  add(labels: Labels, value: number): void {
    const k = this.key(labels);
    if (this.seen.has(k)) throw new Error(`${this.name}: the series ${k} was emitted twice`);
    this.seen.add(k);
    this.current.push(sample(this.name, labels, value));
  }

  lines(): string[] {
    return this.current;
  }
}

export class Registry {
  private readonly families = new Map<string, Family>();
  private readonly collectors: Array<{ families: Map<string, Collected>; collect: (emit: Emit) => Promise<void> | void }> = [];

  counter(info: MetricInfo): Counter {
    return this.add(new Counter(info.name, info.help, 'counter', info.labelNames));
  }

  gauge(info: MetricInfo): Gauge {
    return this.add(new Gauge(info.name, info.help, 'gauge', info.labelNames));
  }

  histogram(info: MetricInfo & { buckets?: readonly number[] }): Histogram {
    return this.add(new Histogram(info, info.buckets ?? DEFAULT_BUCKETS));
  }

  /**
   * Families computed at each scrape by `collect`, which reports every sample through `emit` (counter and
   * gauge families only). A collector that fails fails the scrape: a partial answer would read as series
   * that vanished.
   */
  collect(families: Array<MetricInfo & { type: 'counter' | 'gauge' }>, collect: (emit: Emit) => Promise<void> | void): void {
    const mine = new Map(families.map((f) => [f.name, this.add(new Collected(f.name, f.help, f.type, f.labelNames))]));
    this.collectors.push({ families: mine, collect });
  }

  /** The exposition: every family, its HELP and TYPE, then its samples. */
  async text(): Promise<string> {
    for (const c of this.collectors) {
      for (const f of c.families.values()) f.begin();
      await c.collect((name, labels, value) => {
        const f = c.families.get(name);
        if (!f) throw new Error(`the collector did not declare ${name}`);
        f.add(labels, value);
      });
    }
    return [...this.families.values()].flatMap((f) => [...f.header(), ...f.lines()]).join('\n') + '\n';
  }

  private add<F extends Family>(f: F): F {
    if (this.families.has(f.name)) throw new Error(`metric ${f.name} is registered twice`);
    this.families.set(f.name, f);
    return f;
  }
}

/** The Content-Type of the text format. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
