import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#4f7cff', '#f08c2e', '#2fb67c', '#d64570', '#8a63d2', '#17a2b8'];

export interface Series {
  label: string;
  values: (number | null)[];
}

/**
 * A uPlot chart of series over x (seconds since epoch when `time`, else 0…n-1 with `labels` as ticks).
 * Redrawn in place when the data change; sized to its container, so it fits a phone.
 */
export function Chart(props: { title: string; x: number[]; series: Series[]; time?: boolean; bars?: boolean; labels?: string[]; unit?: string; height?: number; max?: number; xLabel?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${props.series.map((s) => s.label).join('|')}|${props.time}|${props.bars}|${props.labels?.join('|')}`;

  useEffect(() => {
    const element = box.current!;
    const width = () => Math.max(240, element.clientWidth);
    const labels = props.labels;
    const options: uPlot.Options = {
      title: props.title,
      width: width(),
      height: props.height ?? 220,
      scales: {
        // One sample alone would stretch the axis over years: show the last minute around it.
        x: {
          time: props.time ?? false,
          range: (u, min, max) => {
            if (min == null || max == null || max - min < 1) return [(max ?? 0) - 60, (max ?? 0) + 1];
            // Bars stand on their x: half a step of room at each end keeps the first and last whole.
            const half = props.bars ? (max - min) / Math.max(1, u.data[0].length - 1) / 2 : 0;
            return [min - half, max + half];
          },
        },
        ...(props.max ? { y: { range: [0, props.max] as [number, number] } } : {}),
      },
      axes: [
        // Labelled x values are indexes: ticks only on whole ones.
        labels ? { values: (_u, ticks) => ticks.map((t) => labels[Math.round(t)] ?? ''), space: 40, incrs: [1, 2, 5, 10, 20, 50, 100] } : {},
        { values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(2)}${props.unit ?? ''}`), size: 60 },
      ],
      series: [
        { label: props.time ? 'Time' : (props.xLabel ?? 'x') },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          fill: props.bars ? `${COLORS[i % COLORS.length]}99` : `${COLORS[i % COLORS.length]}22`,
          width: 2,
          paths: props.bars ? uPlot.paths.bars!({ size: [0.6, 60] }) : undefined,
          points: { show: props.bars ? false : props.x.length < 3 },
        })),
      ],
    };
    plot.current = new uPlot(options, [props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData, element);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: props.height ?? 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its shape changes; new data go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return <div class="chart" ref={box} data-chart={props.title} />;
}

/** Horizontal bars for a few named values (costs per provider or user): plain HTML, readable at any width. */
export function Bars({ title, rows, format }: { title: string; rows: { key: string; value: number; note?: string }[]; format: (n: number) => string }) {
  const max = Math.max(...rows.map((r) => r.value), 0) || 1;
  return (
    <figure class="bars" data-chart={title}>
      <figcaption>{title}</figcaption>
      {rows.length ? null : <p class="muted small">Nothing in this window.</p>}
      {rows.map((r) => (
        <div class="bar-row" key={r.key}>
          <span class="bar-key">{r.key}</span>
          <span class="bar-track">
            <span class="bar-fill" style={{ width: `${(r.value / max) * 100}%` }} />
          </span>
          <span class="bar-value">
            {format(r.value)}
            {r.note ? <small> {r.note}</small> : null}
          </span>
        </div>
      ))}
    </figure>
  );
}
