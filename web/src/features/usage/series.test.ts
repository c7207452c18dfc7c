import { describe, expect, it } from "vitest";
import {
  dailySeries,
  describeBars,
  describeDaily,
  fillDays,
  formatUsd,
  modelBars,
  parseDay,
  peakDay,
  providerBars,
  shiftDay,
} from "./series";

describe("fillDays", () => {
  it("fills every missing day with zeros, in order", () => {
    const days = fillDays("2026-02-27", "2026-03-02", [
      { date: "2026-03-01", requests: 2, tokens: 30, cost: 0.5 },
      { date: "2026-02-27", requests: 1, tokens: 10, cost: 0.1 },
    ]);
    expect(days.map((d) => d.date)).toEqual([
      "2026-02-27",
      "2026-02-28",
      "2026-03-01",
      "2026-03-02",
    ]);
    expect(days.map((d) => d.requests)).toEqual([1, 0, 2, 0]);
    expect(days[2]).toEqual({ date: "2026-03-01", requests: 2, tokens: 30, cost: 0.5 });
  });

  it("sums duplicate rows and ignores days outside the period", () => {
    const days = fillDays("2026-01-01", "2026-01-02", [
      { date: "2026-01-02", requests: 1, tokens: 5, cost: 0.25 },
      { date: "2026-01-02", requests: 2, tokens: 7, cost: 0.5 },
      { date: "2025-12-31", requests: 9, tokens: 9, cost: 9 },
    ]);
    expect(days).toEqual([
      { date: "2026-01-01", requests: 0, tokens: 0, cost: 0 },
      { date: "2026-01-02", requests: 3, tokens: 12, cost: 0.75 },
    ]);
  });

  it("returns nothing for a reversed or malformed period", () => {
    expect(fillDays("2026-01-05", "2026-01-01", [])).toEqual([]);
    expect(fillDays("2026-1-5", "2026-01-06", [])).toEqual([]);
  });

  it("crosses a leap day", () => {
    expect(fillDays("2028-02-28", "2028-03-01", []).map((d) => d.date)).toEqual([
      "2028-02-28",
      "2028-02-29",
      "2028-03-01",
    ]);
    expect(shiftDay("2028-03-01", -29)).toBe("2028-02-01");
  });
});

describe("dailySeries", () => {
  it("gives uPlot columns: Unix seconds then one column per metric", () => {
    const data = dailySeries(
      [
        { date: "2026-01-01", requests: 1, tokens: 10, cost: 0.1 },
        { date: "2026-01-02", requests: 3, tokens: 0, cost: 0 },
      ],
      ["cost", "requests"],
    );
    expect(data).toEqual([
      [parseDay("2026-01-01") / 1000, parseDay("2026-01-02") / 1000],
      [0.1, 0],
      [1, 3],
    ]);
    expect(data[0]?.[1]).toBe(1767312000);
  });
});

describe("bars", () => {
  const models = [
    { provider: "openai", model: "a", requests: 5, tokens: 100, cost: 3 },
    { provider: "openai", model: "b", requests: 50, tokens: 900, cost: 2 },
    { provider: "anthropic", model: "c", requests: 1, tokens: 50, cost: 1 },
    { provider: "qwen", model: "d", requests: 4, tokens: 0, cost: 0 },
    { provider: "qwen", model: "e", requests: 2, tokens: 10, cost: 0.5 },
  ];

  it("orders by the chosen metric and folds the tail into Other", () => {
    expect(modelBars(models, "requests", 3)).toEqual([
      { label: "openai / b", value: 50 },
      { label: "openai / a", value: 5 },
      { label: "Other (3)", value: 7 },
    ]);
  });

  it("drops zero rows and keeps everything under the limit", () => {
    expect(modelBars(models, "cost").map((b) => b.label)).toEqual([
      "openai / a",
      "openai / b",
      "anthropic / c",
      "qwen / e",
    ]);
  });

  it("labels providers by name", () => {
    const bars = providerBars(
      [
        { provider: "openai", requests: 1, tokens: 2, cost: 0.01, models_count: 1 },
        { provider: "azure", requests: 3, tokens: 4, cost: 0.02, models_count: 2 },
      ],
      "cost",
    );
    expect(bars).toEqual([
      { label: "azure", value: 0.02 },
      { label: "openai", value: 0.01 },
    ]);
  });
});

describe("text alternatives", () => {
  const days = fillDays("2026-01-01", "2026-01-03", [
    { date: "2026-01-02", requests: 4, tokens: 40, cost: 1.5 },
    { date: "2026-01-03", requests: 1, tokens: 10, cost: 0.25 },
  ]);

  it("summarises a daily chart with its total and busiest day", () => {
    expect(peakDay(days)?.date).toBe("2026-01-02");
    expect(describeDaily(days, "cost")).toBe(
      "3 days from 2026-01-01 to 2026-01-03: $1.75 cost in total, 2 with requests. Busiest day 2026-01-02 with $1.50.",
    );
  });

  it("says when nothing happened", () => {
    const idle = fillDays("2026-01-01", "2026-01-02", []);
    expect(peakDay(idle)).toBeNull();
    expect(describeDaily(idle, "requests")).toBe(
      "2 days from 2026-01-01 to 2026-01-02: 0 requests in total, 0 with requests.",
    );
    expect(describeBars([], "cost", "model")).toBe("No model used in this period.");
  });

  it("lists the bars", () => {
    expect(describeBars([{ label: "openai", value: 12 }], "requests", "provider")).toBe(
      "Requests by provider: openai 12.",
    );
  });

  it("formats small costs with significant digits", () => {
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(12.345)).toBe("$12.35");
    expect(formatUsd(0.000123)).toBe("$0.000123");
  });
});
