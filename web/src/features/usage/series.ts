/**
 * Shapes the /api/statistics answers into what the charts and tables draw.
 *
 * The API lists only the days that had requests; a chart needs every day of
 * the period, so the gaps are filled with zeros. Per-model and per-provider
 * rows are already ordered by cost; long tails are folded into "Other" so a
 * bar chart stays readable (the tables keep every row).
 */

export type DailyRow = { date: string; requests: number; tokens: number; cost: number };
export type ModelRow = {
  provider: string;
  model: string;
  requests: number;
  tokens: number;
  cost: number;
};
export type ProviderRow = {
  provider: string;
  requests: number;
  tokens: number;
  cost: number;
  models_count: number;
};

export type Metric = "cost" | "requests" | "tokens";

const DAY_MS = 86_400_000;

/** "YYYY-MM-DD" -> ms at UTC midnight; NaN for anything else. */
export function parseDay(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** ms -> "YYYY-MM-DD" in UTC. */
export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The UTC day `days` before `day` ("YYYY-MM-DD"). */
export function shiftDay(day: string, days: number): string {
  return formatDay(parseDay(day) + days * DAY_MS);
}

/** Every day from start to end inclusive, missing days as zeros, in order. */
export function fillDays(start: string, end: string, rows: readonly DailyRow[]): DailyRow[] {
  const from = parseDay(start);
  const to = parseDay(end);
  if (Number.isNaN(from) || Number.isNaN(to) || to < from) return [];
  const byDay = new Map<string, DailyRow>();
  for (const row of rows) {
    const prev = byDay.get(row.date);
    byDay.set(
      row.date,
      prev
        ? {
            date: row.date,
            requests: prev.requests + row.requests,
            tokens: prev.tokens + row.tokens,
            cost: prev.cost + row.cost,
          }
        : { ...row },
    );
  }
  const out: DailyRow[] = [];
  for (let t = from; t <= to; t += DAY_MS) {
    const date = formatDay(t);
    out.push(byDay.get(date) ?? { date, requests: 0, tokens: 0, cost: 0 });
  }
  return out;
}

/** uPlot's column data: x in Unix seconds, then one series per metric. */
export function dailySeries(days: readonly DailyRow[], metrics: readonly Metric[]): number[][] {
  const xs = days.map((d) => parseDay(d.date) / 1000);
  return [xs, ...metrics.map((m) => days.map((d) => d[m]))];
}

export type Bar = { label: string; value: number };

/**
 * The `limit - 1` largest rows by `metric` as bars and the rest summed as
 * "Other (n)". Rows with a zero value are dropped; ties keep the API's order.
 */
export function topBars<T>(
  rows: readonly T[],
  label: (row: T) => string,
  value: (row: T) => number,
  limit = 8,
): Bar[] {
  const bars = rows
    .map((row, i) => ({ label: label(row), value: value(row), i }))
    .filter((b) => b.value > 0)
    .sort((a, b) => b.value - a.value || a.i - b.i);
  if (bars.length <= limit) return bars.map(({ label, value }) => ({ label, value }));
  const head = bars.slice(0, limit - 1).map(({ label, value }) => ({ label, value }));
  const tail = bars.slice(limit - 1);
  const rest = tail.reduce((sum, b) => sum + b.value, 0);
  return [...head, { label: `Other (${tail.length})`, value: rest }];
}

/** Per-model bars labelled "provider / model". */
export function modelBars(rows: readonly ModelRow[], metric: Metric, limit = 8): Bar[] {
  return topBars(
    rows,
    (r) => `${r.provider} / ${r.model}`,
    (r) => r[metric],
    limit,
  );
}

export function providerBars(rows: readonly ProviderRow[], metric: Metric, limit = 8): Bar[] {
  return topBars(
    rows,
    (r) => r.provider,
    (r) => r[metric],
    limit,
  );
}

/** The busiest day of a filled series (by cost, then requests), or null when idle. */
export function peakDay(days: readonly DailyRow[], metric: Metric = "cost"): DailyRow | null {
  let best: DailyRow | null = null;
  for (const d of days) {
    if (d[metric] <= 0) continue;
    if (!best || d[metric] > best[metric]) best = d;
  }
  return best;
}

const usd = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const usdSmall = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumSignificantDigits: 3,
});
const count = new Intl.NumberFormat("en-US");

/** Dollars: cents for sums of a cent or more, three significant digits below. */
export function formatUsd(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return usdSmall.format(value);
  return usd.format(value);
}

export function formatCount(value: number): string {
  return count.format(value);
}

export function formatMetric(metric: Metric, value: number): string {
  return metric === "cost" ? formatUsd(value) : formatCount(value);
}

/** A one-sentence text alternative for a daily chart. */
export function describeDaily(days: readonly DailyRow[], metric: Metric): string {
  if (days.length === 0) return "No days in this period.";
  const first = days[0]?.date ?? "";
  const last = days[days.length - 1]?.date ?? "";
  const total = days.reduce((s, d) => s + d[metric], 0);
  const active = days.filter((d) => d.requests > 0).length;
  const peak = peakDay(days, metric);
  const what = metric === "cost" ? "cost" : metric;
  const base = `${days.length} days from ${first} to ${last}: ${formatMetric(metric, total)} ${what} in total, ${active} with requests.`;
  return peak
    ? `${base} Busiest day ${peak.date} with ${formatMetric(metric, peak[metric])}.`
    : base;
}

/** A one-sentence text alternative for a bar chart. */
export function describeBars(bars: readonly Bar[], metric: Metric, noun: string): string {
  if (bars.length === 0) return `No ${noun} used in this period.`;
  const parts = bars.map((b) => `${b.label} ${formatMetric(metric, b.value)}`);
  return `${metric === "cost" ? "Cost" : metric === "requests" ? "Requests" : "Tokens"} by ${noun}: ${parts.join(", ")}.`;
}
