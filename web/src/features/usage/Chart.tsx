/**
 * A uPlot chart that fills its container's width. The canvas is decorative
 * for assistive technology: the figure is labelled and described by a text
 * summary, and every chart has a table with the same figures next to it.
 */
import { useEffect, useId, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export type ChartData = uPlot.AlignedData;

export type ChartProps = {
  title: string;
  summary: string;
  /** options without width (taken from the container) */
  options: Omit<uPlot.Options, "width">;
  data: uPlot.AlignedData;
};

export function Chart({ title, summary, options, data }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const descId = useId();

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(280, el.clientWidth);
    const u = new uPlot({ ...themed(options, el), width } as uPlot.Options, data, el);
    plot.current = u;
    const ro =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(() => {
            const w = Math.max(280, el.clientWidth);
            if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height: u.height });
          });
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [options, data]);

  return (
    <figure className="usage-chart" aria-label={title} aria-describedby={descId}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="usage-chart-canvas" aria-hidden="true" />
      <p id={descId} className="sr-only">
        {summary}
      </p>
    </figure>
  );
}

/** Axis text and grid in the page's colours (light or dark). */
function themed(
  options: Omit<uPlot.Options, "width">,
  el: HTMLElement,
): Omit<uPlot.Options, "width"> {
  const css = getComputedStyle(el);
  const text = css.getPropertyValue("--fg-soft").trim() || "#4b5261";
  const grid = css.getPropertyValue("--border").trim() || "#dde1e7";
  return {
    ...options,
    axes: (options.axes ?? [{}, {}]).map((axis) => ({
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      ...axis,
    })),
  };
}

/** Bars over category indexes 0..n-1, labelled on the x axis. */
export function barOptions(
  labels: readonly string[],
  seriesLabel: string,
  format: (v: number) => string,
) {
  const short = labels.map((l) => (l.length > 18 ? `${l.slice(0, 17)}…` : l));
  const opts: Omit<uPlot.Options, "width"> = {
    height: 220,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] } },
    axes: [
      {
        values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? (short[i] ?? "") : "")),
        splits: () => labels.map((_, i) => i),
        gap: 4,
      },
      { values: (_u, splits) => splits.map(format), size: 70 },
    ],
    series: [
      {},
      {
        label: seriesLabel,
        fill: "rgba(79, 70, 229, 0.55)",
        stroke: "rgb(79, 70, 229)",
        paths: uPlot.paths.bars?.({ size: [0.6, 64] }),
        points: { show: false },
        value: (_u, v) => (v == null ? "" : format(v)),
      },
    ],
  };
  return opts;
}

/** A daily time series: one line (with area) per metric. */
export function dailyOptions(seriesLabel: string, format: (v: number) => string) {
  const opts: Omit<uPlot.Options, "width"> = {
    height: 240,
    scales: { x: { time: true } },
    axes: [{}, { values: (_u, splits) => splits.map(format), size: 70 }],
    series: [
      {
        label: "Day",
        value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)),
      },
      {
        label: seriesLabel,
        stroke: "rgb(79, 70, 229)",
        fill: "rgba(79, 70, 229, 0.15)",
        width: 2,
        value: (_u, v) => (v == null ? "" : format(v)),
      },
    ],
  };
  return opts;
}
