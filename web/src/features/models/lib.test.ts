import { describe, expect, it } from "vitest";
import {
  type AvailableModel,
  formatContext,
  formatPrice,
  matchModel,
  noModelReason,
  type Preference,
  type ProviderStatus,
  pickDefault,
  usableChatModels,
  usableProviders,
} from "./lib";

function model(provider: string, id: string, extra: Partial<AvailableModel> = {}): AvailableModel {
  return {
    provider,
    id,
    name: id.toUpperCase(),
    description: "",
    max_tokens: 128000,
    pricing: { input: 2.5, output: 10 },
    capabilities: ["chat", "vision"],
    kind: "chat",
    source: "catalog",
    ...extra,
  } as AvailableModel;
}

function status(
  providers: Record<string, [ok: number, wait: number, invalid: number]>,
): ProviderStatus {
  return {
    authenticated: true,
    accounts: [],
    providers: Object.fromEntries(
      Object.entries(providers).map(([p, [ok, wait, invalid]]) => [
        p,
        { status: ok ? "OK" : wait ? "WAIT" : "INVALID", until: null, ok, wait, invalid },
      ]),
    ),
  };
}

function pref(provider: string, m: string, updated: string): Preference {
  return {
    id: 1,
    user_id: 1,
    provider,
    model: m,
    max_tokens: null,
    temperature: null,
    system_prompt: null,
    is_default: true,
    created_at: updated,
    updated_at: updated,
  };
}

describe("usable models", () => {
  const all = [
    model("openai", "gpt-4o"),
    model("anthropic", "claude"),
    model("azure", "gpt-4o"),
    model("openai", "dall-e", { kind: "image", capabilities: ["image"] }),
    model("openai", "embed", { kind: "embedding", capabilities: ["embedding"] }),
  ];

  it("keeps chat models of providers with a serving or resting key", () => {
    const s = status({ openai: [1, 0, 0], anthropic: [0, 1, 0], azure: [0, 0, 2] });
    expect([...usableProviders(s)].sort()).toEqual(["anthropic", "openai"]);
    expect(usableChatModels(all, s).map((m) => `${m.provider}/${m.id}`)).toEqual([
      "openai/gpt-4o",
      "anthropic/claude",
    ]);
  });

  it("is empty without keys, and says why", () => {
    expect(usableChatModels(all, status({}))).toEqual([]);
    expect(usableChatModels(undefined, undefined)).toEqual([]);
    expect(noModelReason(status({}))).toBe("no-keys");
    expect(noModelReason(status({ openai: [0, 0, 1] }))).toBe("all-invalid");
  });
});

describe("pickDefault", () => {
  const usable = [model("anthropic", "claude"), model("openai", "gpt-4o"), model("openai", "mini")];

  it("takes the most recently set default that is still usable", () => {
    const defaults = {
      openai: pref("openai", "mini", "2026-12-01T00:00:00Z"),
      anthropic: pref("anthropic", "claude", "2026-12-03T00:00:00Z"),
    };
    expect(pickDefault(usable, defaults)).toEqual({ provider: "anthropic", model: "claude" });
  });

  it("skips defaults whose model is no longer usable", () => {
    const defaults = {
      azure: pref("azure", "gpt-4o", "2026-12-05T00:00:00Z"),
      openai: pref("openai", "mini", "2026-12-01T00:00:00Z"),
    };
    expect(pickDefault(usable, defaults)).toEqual({ provider: "openai", model: "mini" });
  });

  it("without defaults prefers a provider serving now over a resting one", () => {
    const s = status({ anthropic: [0, 1, 0], openai: [1, 0, 0] });
    expect(pickDefault(usable, {}, s)).toEqual({ provider: "openai", model: "gpt-4o" });
    expect(pickDefault([], {}, s)).toBeNull();
  });
});

describe("formatting", () => {
  it("prices per 1M tokens", () => {
    expect(formatPrice({ input: 2.5, output: 10 })).toBe("$2.50 in · $10.00 out per 1M tokens");
    expect(formatPrice({ input: 0.075, output: 0.3 })).toBe("$0.075 in · $0.30 out per 1M tokens");
    expect(formatPrice({ input: 0, output: 0 })).toBe("free");
    expect(formatPrice(null)).toBe("price unknown");
    expect(formatPrice({ input: null, output: null })).toBe("price unknown");
    expect(formatPrice({ input: 0, output: 0, per_image: 0.04 })).toBe("$0.040 per image");
    expect(formatPrice({ input: 0, output: 0, per_second: 2 })).toBe("$2.00 per second");
    expect(formatPrice({ input: 0, output: 0, per_image: 0.02, credits_per_image: 2 })).toBe(
      "$0.020 per image (2 credits)",
    );
    expect(formatPrice({ input: 0, output: 0, per_second: 0.03, credits_per_second: 3 })).toBe(
      "$0.030 per second (3 credits)",
    );
    expect(
      formatPrice({
        input: 0,
        output: 0,
        per_image_by_size: { "1024x1024": 0.04, "hd:1024x1024": 0.08 },
      }),
    ).toBe("from $0.040 per image");
  });

  it("context sizes", () => {
    expect(formatContext(128000)).toBe("128K context");
    expect(formatContext(1_048_576)).toBe("1M context");
    expect(formatContext(2_000_000)).toBe("2M context");
    expect(formatContext(null)).toBeNull();
  });

  it("search matches name, id, provider label and capabilities", () => {
    const m = model("anthropic", "claude-sonnet", { name: "Claude Sonnet" });
    expect(matchModel(m, "sonnet")).toBe(true);
    expect(matchModel(m, "Anthropic")).toBe(true);
    expect(matchModel(m, "vision")).toBe(true);
    expect(matchModel(m, "gpt")).toBe(false);
    expect(matchModel(m, "  ")).toBe(true);
  });
});
