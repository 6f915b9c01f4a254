/**
 * A live time chart (uPlot: a few tens of KB, draws on a canvas, made for streaming series). `data` is
 * [times in seconds, ...series]; the chart follows its container's width.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  color: string;
}

export function Chart({ title, series, data, unit }: { title: string; series: Series[]; data: number[][]; unit: (v: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      legend: { show: true, live: false },
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1e-9) * 1.1] } },
      axes: [
        { stroke: '#9aa4b2', grid: { stroke: '#2a3240' } },
        { stroke: '#9aa4b2', grid: { stroke: '#2a3240' }, size: 70, values: (_u, vals) => vals.map((v) => unit(v)) },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, value: (_u: uPlot, v: number | null) => (v === null ? '–' : unit(v)) }))],
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => plot.current?.setData(data as uPlot.AlignedData), [data]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} data-points={data[0]?.length ?? 0} />
    </figure>
  );
}
