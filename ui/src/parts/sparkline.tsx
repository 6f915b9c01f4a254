/** A tiny line of recent values (an SVG polyline; uPlot is for the detail page's charts). */
export function Sparkline({ values, max, label }: { values: number[]; max?: number; label: string }) {
  const w = 80;
  const h = 20;
  const top = Math.max(max ?? 0, ...values, 1e-9);
  const points = values.map((v, i) => `${((i / Math.max(values.length - 1, 1)) * w).toFixed(1)},${(h - (v / top) * h).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <title>{label}</title>
      {values.length > 1 && <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />}
    </svg>
  );
}
