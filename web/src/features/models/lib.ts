/** Which models a user can actually use, and how to show them; tested in lib.test.ts. */
import type { Schemas } from "../../api/client";

export type AvailableModel = Schemas["AvailableModel"];
export type ProviderStatus = Schemas["StatusRead"];
export type Preference = Schemas["PreferenceRead"];
export type ModelRef = { provider: string; model: string };

export const PROVIDER_NAMES: Record<string, string> = {
  openai: "OpenAI",
  azure: "Azure OpenAI",
  anthropic: "Anthropic",
  qwen: "Qwen (DashScope)",
  gemini: "Google Gemini",
  bedrock: "AWS Bedrock",
  openai_compatible: "OpenAI-compatible server",
  superduperai: "SuperDuperAI",
};

export function providerName(p: string): string {
  return PROVIDER_NAMES[p] ?? p;
}

/** Providers with at least one key serving now or soon (resting keys come back). */
export function usableProviders(status: ProviderStatus | undefined): Set<string> {
  const out = new Set<string>();
  for (const [p, s] of Object.entries(status?.providers ?? {})) {
    if (s.ok > 0 || s.wait > 0) out.add(p);
  }
  return out;
}

/**
 * Chat models the user can call: the catalog and discovered models whose
 * provider has a usable key (own or global). `kind` defaults to chat.
 */
export function usableChatModels(
  models: AvailableModel[] | undefined,
  status: ProviderStatus | undefined,
): AvailableModel[] {
  const ok = usableProviders(status);
  return (models ?? []).filter(
    (m) => ok.has(m.provider) && (m.kind ?? "chat") === "chat" && m.capabilities.includes("chat"),
  );
}

/** Why nobody can chat yet, in words for the person in front of the screen. */
export function noModelReason(status: ProviderStatus | undefined): "no-keys" | "all-invalid" {
  const providers = Object.values(status?.providers ?? {});
  if (providers.length && providers.every((p) => p.invalid > 0 && p.ok + p.wait === 0)) {
    return "all-invalid";
  }
  return "no-keys";
}

/** "$2.50 in · $10.00 out per 1M tokens", "$0.04 per image", "$0.020 per image (2
 * credits)" for a provider billing in credits, "free" or "price unknown". */
export function formatPrice(pricing: AvailableModel["pricing"] | null | undefined): string {
  if (!pricing) return "price unknown";
  const p = pricing;
  const f = (n: number | null | undefined) =>
    n == null ? "?" : `$${n < 0.1 ? n.toPrecision(2) : n.toFixed(2)}`;
  const units: string[] = [];
  const credits = (n: number | null | undefined) => (n == null ? "" : ` (${n} credits)`);
  if (p.per_image != null) units.push(`${f(p.per_image)} per image${credits(p.credits_per_image)}`);
  else if (p.per_image_by_size) {
    const prices = Object.values(p.per_image_by_size);
    if (prices.length) units.push(`from ${f(Math.min(...prices))} per image`);
  }
  if (p.per_second != null) {
    units.push(`${f(p.per_second)} per second${credits(p.credits_per_second)}`);
  }
  if (p.per_1m_characters != null) units.push(`${f(p.per_1m_characters)} per 1M characters`);
  const tokens = !!p.input || !!p.output;
  if (tokens) units.unshift(`${f(p.input)} in · ${f(p.output)} out per 1M tokens`);
  if (units.length) return units.join(" · ");
  if (p.input == null && p.output == null) return "price unknown";
  return "free";
}

/** 128000 -> "128K context"; 1048576 -> "1M context". */
export function formatContext(tokens: number | null | undefined): string | null {
  if (!tokens) return null;
  if (tokens >= 1_000_000) return `${+(tokens / 1_000_000).toFixed(1)}M context`;
  if (tokens >= 1000) return `${Math.round(tokens / 1000)}K context`;
  return `${tokens} context`;
}

export function sameModel(a: ModelRef | null | undefined, b: ModelRef | null | undefined): boolean {
  return !!a && !!b && a.provider === b.provider && a.model === b.model;
}

/**
 * The model a new chat starts with: the most recently set per-provider default
 * that is still usable, else the first usable model of a provider serving now.
 */
export function pickDefault(
  usable: AvailableModel[],
  defaults: Record<string, Preference> | undefined,
  status?: ProviderStatus,
): ModelRef | null {
  const prefs = Object.values(defaults ?? {}).sort((a, b) =>
    b.updated_at.localeCompare(a.updated_at),
  );
  for (const p of prefs) {
    if (usable.some((m) => m.provider === p.provider && m.id === p.model)) {
      return { provider: p.provider, model: p.model };
    }
  }
  const serving = (m: AvailableModel) => (status?.providers[m.provider]?.ok ?? 0) > 0;
  const first = usable.find(serving) ?? usable[0];
  return first ? { provider: first.provider, model: first.id } : null;
}

/** Case-insensitive match over name, id, provider and capabilities. */
export function matchModel(m: AvailableModel, q: string): boolean {
  const s = q.trim().toLowerCase();
  if (!s) return true;
  return [m.name, m.id, m.provider, providerName(m.provider), ...m.capabilities].some((x) =>
    x.toLowerCase().includes(s),
  );
}
