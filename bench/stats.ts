/** Small helpers for benchmark figures: medians and percentiles over samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: number[]) => percentile(samples, 50);

export function summary(label: string, samples: number[], unit = 'ms'): string {
  const fmt = (v: number) => (unit === 'ms' ? v.toFixed(0) : v.toFixed(1));
  return `${label.padEnd(28)} median=${fmt(median(samples))}${unit} p95=${fmt(percentile(samples, 95))}${unit} n=${samples.length}`;
}
