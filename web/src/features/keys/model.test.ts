import { describe, expect, it } from "vitest";
import {
  budgetShare,
  expiryFromDate,
  gatewayState,
  isBedrockKey,
  keyHealth,
  optionalInt,
  optionalUsd,
  parseModels,
  presetFill,
} from "./model";

const now = new Date("2026-03-01T12:00:00Z");

describe("keyHealth", () => {
  const base = { status: "ok" as const, cooldown_until: null, last_error: null, is_active: true };

  it("reads ok, resting and invalid", () => {
    expect(keyHealth(base, now)).toEqual({ tone: "ok", label: "OK", detail: null });
    const resting = keyHealth(
      { ...base, status: "cooldown", cooldown_until: "2026-03-01T12:05:00Z", last_error: "429" },
      now,
    );
    expect(resting.tone).toBe("warn");
    expect(resting.label).toMatch(/^Resting until /);
    expect(resting.detail).toBe("429");
    expect(keyHealth({ ...base, status: "invalid", last_error: "401 Unauthorized" }, now)).toEqual({
      tone: "bad",
      label: "Invalid",
      detail: "401 Unauthorized",
    });
  });

  it("treats a cooldown in the past as over and a disabled key as off", () => {
    expect(
      keyHealth({ ...base, status: "cooldown", cooldown_until: "2026-03-01T11:00:00Z" }, now).tone,
    ).toBe("ok");
    expect(keyHealth({ ...base, status: "invalid", is_active: false }, now).label).toBe("Disabled");
  });
});

describe("form fields", () => {
  it("parses model lists", () => {
    expect(parseModels(" gpt-4o-mini, claude-*\n\ngpt-4o-mini\n openai/* ")).toEqual([
      "gpt-4o-mini",
      "claude-*",
      "openai/*",
    ]);
    expect(parseModels("  ")).toEqual([]);
  });

  it("parses optional numbers", () => {
    expect(optionalInt("")).toBeNull();
    expect(optionalInt(" 60 ")).toBe(60);
    expect(optionalInt("0")).toBe("invalid");
    expect(optionalInt("1.5")).toBe("invalid");
    expect(optionalUsd("$12.50")).toBe(12.5);
    expect(optionalUsd("0")).toBe(0);
    expect(optionalUsd("-1")).toBe("invalid");
    expect(optionalUsd("")).toBeNull();
  });

  it("turns a date into the end of that local day", () => {
    const iso = expiryFromDate("2026-05-04");
    expect(iso).not.toBeNull();
    const d = new Date(iso as string);
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()]).toEqual([2026, 4, 4, 23]);
    expect(expiryFromDate("tomorrow")).toBeNull();
  });
});

describe("gateway keys", () => {
  it("knows active, revoked and expired", () => {
    expect(gatewayState({ revoked_at: null, expires_at: null }, now)).toBe("active");
    expect(gatewayState({ revoked_at: "2026-02-01T00:00:00Z", expires_at: null }, now)).toBe(
      "revoked",
    );
    expect(gatewayState({ revoked_at: null, expires_at: "2026-03-01T11:59:59Z" }, now)).toBe(
      "expired",
    );
    expect(gatewayState({ revoked_at: null, expires_at: "2026-03-02T00:00:00Z" }, now)).toBe(
      "active",
    );
  });

  it("gives the spent share of a budget", () => {
    expect(budgetShare({ spend_usd: 2.5, budget_usd: 10 })).toBe(0.25);
    expect(budgetShare({ spend_usd: 20, budget_usd: 10 })).toBe(1);
    expect(budgetShare({ spend_usd: 0, budget_usd: 0 })).toBe(1);
    expect(budgetShare({ spend_usd: 1, budget_usd: null })).toBeNull();
  });
});

describe("presetFill", () => {
  const groq = { base_url: "https://api.groq.com/openai/v1", name: "Groq" };

  it("fills the base URL and a name only when none is typed", () => {
    expect(presetFill(groq, "")).toEqual({ baseUrl: groq.base_url, name: "Groq" });
    expect(presetFill(groq, "  ")).toEqual({ baseUrl: groq.base_url, name: "Groq" });
    expect(presetFill(groq, "team")).toEqual({ baseUrl: groq.base_url, name: "team" });
  });
});

describe("isBedrockKey", () => {
  it("takes id:secret and id:secret:token only", () => {
    expect(isBedrockKey("AKIA1:secret")).toBe(true);
    expect(isBedrockKey("AKIA1:secret:token")).toBe(true);
    expect(isBedrockKey("AKIA1")).toBe(false);
    expect(isBedrockKey("AKIA1::token")).toBe(false);
    expect(isBedrockKey("a:b:c:d")).toBe(false);
  });
});
