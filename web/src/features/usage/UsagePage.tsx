/**
 * Usage: this month, the last 30 days and all time with the savings against
 * a subscription and what caching saved; charts per day, per model and per provider for a period,
 * each with a table of the same figures.
 */
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { EmptyState } from "../../ui/EmptyState";
import { Spinner } from "../../ui/Spinner";
import { barOptions, Chart, dailyOptions, type ChartData as uPlotData } from "./Chart";
import {
  dailySeries,
  describeBars,
  describeDaily,
  fillDays,
  formatCount,
  formatDay,
  formatMetric,
  formatUsd,
  type Metric,
  modelBars,
  providerBars,
  shiftDay,
} from "./series";
import "./usage.css";

const PERIODS = [7, 30, 90] as const;
const METRICS: { id: Metric; label: string }[] = [
  { id: "cost", label: "Cost" },
  { id: "requests", label: "Requests" },
  { id: "tokens", label: "Tokens" },
];

type Summary = Schemas["UsageSummary"];
type Stats = Schemas["UsageStatistics"];

function SummaryCards({ summary }: { summary: Summary }) {
  const s = summary.savings;
  return (
    <section aria-labelledby="usage-summary-h" className="usage-cards">
      <h2 id="usage-summary-h" className="sr-only">
        Summary
      </h2>
      <Card
        title="This month"
        cost={summary.current_month.cost}
        requests={summary.current_month.requests}
        tokens={summary.current_month.tokens}
      />
      <Card
        title="Last 30 days"
        cost={summary.last_30_days.cost}
        requests={summary.last_30_days.requests}
        tokens={summary.last_30_days.tokens}
      />
      <Card
        title="All time"
        cost={summary.all_time.cost}
        requests={summary.all_time.requests}
        tokens={summary.all_time.tokens}
      />
      <div className="usage-card">
        <h3>Saved this month</h3>
        <p className="usage-big">{formatUsd(s.vs_subscription)}</p>
        <p className="muted">
          against a {formatUsd(s.subscription_cost)} monthly subscription. Cached answers cost
          nothing and are counted as requests at $0.
        </p>
      </div>
      <CacheCard title="Cache savings this month" saved={summary.cache_savings.current_month} />
      <CacheCard title="Cache savings, 30 days" saved={summary.cache_savings.last_30_days} />
    </section>
  );
}

function CacheCard({ title, saved }: { title: string; saved: Schemas["CacheSavings"] }) {
  return (
    <div className="usage-card">
      <h3>{title}</h3>
      <p className="usage-big">{formatUsd(saved.total)}</p>
      <p className="muted">
        {formatUsd(saved.prompt_cache)} from {formatCount(saved.prompt_cache_tokens)} prompt-cache
        tokens · {formatUsd(saved.response_cache)} from {formatCount(saved.cached_responses)} cached
        answers
      </p>
    </div>
  );
}

function Card({
  title,
  cost,
  requests,
  tokens,
}: {
  title: string;
  cost: number;
  requests: number;
  tokens: number;
}) {
  return (
    <div className="usage-card">
      <h3>{title}</h3>
      <p className="usage-big">{formatUsd(cost)}</p>
      <p className="muted">
        {formatCount(requests)} requests · {formatCount(tokens)} tokens
      </p>
    </div>
  );
}

function MetricTable({
  caption,
  head,
  rows,
}: {
  caption: string;
  head: string[];
  rows: (string | number)[][];
}) {
  return (
    <div className="usage-table-wrap">
      <table className="usage-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {head.map((h, i) => (
              <th key={h} scope="col" className={i > 0 ? "num" : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={String(r[0])}>
              {r.map((c, i) =>
                i === 0 ? (
                  <th key={head[i]} scope="row">
                    {c}
                  </th>
                ) : (
                  <td key={head[i]} className="num">
                    {c}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Charts({ stats, metric }: { stats: Stats; metric: Metric }) {
  const days = useMemo(
    () => fillDays(stats.start_date, stats.end_date, stats.daily_usage),
    [stats],
  );
  const label = METRICS.find((m) => m.id === metric)?.label ?? metric;
  const daily = useMemo(
    () => ({
      options: dailyOptions(label, (v) => formatMetric(metric, v)),
      data: dailySeries(days, [metric]),
    }),
    [days, metric, label],
  );
  const models = useMemo(() => modelBars(stats.model_usage, metric), [stats, metric]);
  const providers = useMemo(() => providerBars(stats.provider_summary, metric), [stats, metric]);
  const modelChart = useMemo(
    () => ({
      options: barOptions(
        models.map((b) => b.label),
        label,
        (v) => formatMetric(metric, v),
      ),
      data: [models.map((_, i) => i), models.map((b) => b.value)],
    }),
    [models, metric, label],
  );
  const providerChart = useMemo(
    () => ({
      options: barOptions(
        providers.map((b) => b.label),
        label,
        (v) => formatMetric(metric, v),
      ),
      data: [providers.map((_, i) => i), providers.map((b) => b.value)],
    }),
    [providers, metric, label],
  );
  const active = days.filter((d) => d.requests > 0);

  return (
    <>
      <section className="usage-section" aria-labelledby="usage-daily-h">
        <h2 id="usage-daily-h">Per day</h2>
        <Chart
          title={`${label} per day`}
          summary={describeDaily(days, metric)}
          options={daily.options}
          data={daily.data as uPlotData}
        />
        <details>
          <summary>Days with requests as a table</summary>
          <MetricTable
            caption={`Usage per day, ${stats.start_date} to ${stats.end_date}`}
            head={["Day", "Requests", "Tokens", "Cost"]}
            rows={active.map((d) => [
              d.date,
              formatCount(d.requests),
              formatCount(d.tokens),
              formatUsd(d.cost),
            ])}
          />
        </details>
      </section>
      <section className="usage-section" aria-labelledby="usage-model-h">
        <h2 id="usage-model-h">Per model</h2>
        {models.length ? (
          <Chart
            title={`${label} per model`}
            summary={describeBars(models, metric, "model")}
            options={modelChart.options}
            data={modelChart.data as uPlotData}
          />
        ) : null}
        <MetricTable
          caption="Usage per model"
          head={["Model", "Provider", "Requests", "Tokens", "Cost"]}
          rows={stats.model_usage.map((m) => [
            `${m.provider} / ${m.model}`,
            m.provider,
            formatCount(m.requests),
            formatCount(m.tokens),
            formatUsd(m.cost),
          ])}
        />
      </section>
      <section className="usage-section" aria-labelledby="usage-provider-h">
        <h2 id="usage-provider-h">Per provider</h2>
        {providers.length ? (
          <Chart
            title={`${label} per provider`}
            summary={describeBars(providers, metric, "provider")}
            options={providerChart.options}
            data={providerChart.data as uPlotData}
          />
        ) : null}
        <MetricTable
          caption="Usage per provider"
          head={["Provider", "Models", "Requests", "Tokens", "Cost"]}
          rows={stats.provider_summary.map((p) => [
            p.provider,
            formatCount(p.models_count),
            formatCount(p.requests),
            formatCount(p.tokens),
            formatUsd(p.cost),
          ])}
        />
      </section>
    </>
  );
}

export default function UsagePage() {
  const [days, setDays] = useState<(typeof PERIODS)[number]>(30);
  const [metric, setMetric] = useState<Metric>("cost");
  const metricName = useId();
  const end = formatDay(Date.now());
  const start = shiftDay(end, -(days - 1));

  const summary = useQuery({
    queryKey: ["usage", "summary"],
    queryFn: () => unwrap(api.GET("/api/statistics/summary")),
  });
  const stats = useQuery({
    queryKey: ["usage", "stats", start, end],
    queryFn: () =>
      unwrap(
        api.GET("/api/statistics/usage", {
          params: { query: { start_date: start, end_date: end } },
        }),
      ),
  });

  return (
    <section className="page usage-page" aria-labelledby="usage-h">
      <h1 id="usage-h">Usage</h1>
      {summary.data ? (
        <SummaryCards summary={summary.data} />
      ) : summary.isLoading ? (
        <Spinner label="Loading summary" />
      ) : null}
      {summary.error ? (
        <p role="alert" className="form-error">
          {summary.error.message}
        </p>
      ) : null}

      <div className="row wrap usage-controls">
        <label className="row">
          Period
          <select
            value={days}
            onChange={(e) => setDays(Number(e.target.value) as (typeof PERIODS)[number])}
          >
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                Last {p} days
              </option>
            ))}
          </select>
        </label>
        <fieldset className="row usage-metric">
          <legend className="sr-only">Show</legend>
          {METRICS.map((m) => (
            <label key={m.id} className="row">
              <input
                type="radio"
                name={metricName}
                value={m.id}
                checked={metric === m.id}
                onChange={() => setMetric(m.id)}
              />
              {m.label}
            </label>
          ))}
        </fieldset>
      </div>

      {stats.isLoading ? <Spinner label="Loading usage" /> : null}
      {stats.error ? (
        <p role="alert" className="form-error">
          {stats.error.message}
        </p>
      ) : null}
      {stats.data ? (
        stats.data.total_requests === 0 ? (
          <EmptyState title="No requests in this period">
            <p>Chat, generate media or call the gateway: your usage and cost will show up here.</p>
          </EmptyState>
        ) : (
          <>
            <p className="usage-total">
              {stats.data.start_date} to {stats.data.end_date}:{" "}
              <strong>{formatUsd(stats.data.total_cost)}</strong>,{" "}
              {formatCount(stats.data.total_requests)} requests,{" "}
              {formatCount(stats.data.total_tokens)} tokens.
            </p>
            <Charts stats={stats.data} metric={metric} />
          </>
        )
      ) : null}
    </section>
  );
}
