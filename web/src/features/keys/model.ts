/** Display rules for provider keys and gateway keys (pure, tested). */
import type { Schemas } from "../../api/client";

export type ProviderKey = Schemas["ProviderKeyRead"];
export type GatewayKey = Schemas["GatewayKeyRead"];

export const PROVIDERS = [
  { id: "openai", label: "OpenAI" },
  { id: "anthropic", label: "Anthropic" },
  { id: "azure", label: "Azure OpenAI" },
  { id: "qwen", label: "Qwen (DashScope)" },
  { id: "gemini", label: "Google Gemini" },
  { id: "bedrock", label: "AWS Bedrock" },
  { id: "openai_compatible", label: "OpenAI-compatible server" },
  { id: "superduperai", label: "SuperDuperAI (images, video)" },
] as const;

export type ProviderId = (typeof PROVIDERS)[number]["id"];

export const NEEDS_BASE_URL: ReadonlySet<string> = new Set(["azure", "openai_compatible"]);

export type Preset = Schemas["Preset"];

/** The form fields a preset fills: its base URL, and its name when none is typed. */
export function presetFill(
  preset: Pick<Preset, "base_url" | "name">,
  name: string,
): { baseUrl: string; name: string } {
  return { baseUrl: preset.base_url, name: name.trim() ? name : preset.name };
}

/** A Bedrock key: ACCESS_KEY_ID:SECRET_ACCESS_KEY with an optional session token. */
export function isBedrockKey(text: string): boolean {
  const parts = text.trim().split(":");
  return (parts.length === 2 || parts.length === 3) && parts.every((p) => p.length > 0);
}

export function providerLabel(id: string): string {
  return PROVIDERS.find((p) => p.id === id)?.label ?? id;
}

export type Health = { tone: "ok" | "warn" | "bad" | "off"; label: string; detail: string | null };

function clock(iso: string, now: Date): string {
  const at = new Date(iso);
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/** ok / resting until (a cooldown not yet over) / invalid; a disabled key says so. */
export function keyHealth(
  key: Pick<ProviderKey, "status" | "cooldown_until" | "last_error" | "is_active">,
  now = new Date(),
): Health {
  if (!key.is_active) return { tone: "off", label: "Disabled", detail: null };
  if (key.status === "invalid") {
    return {
      tone: "bad",
      label: "Invalid",
      detail: key.last_error ?? "The provider rejected this key.",
    };
  }
  if (key.status === "cooldown" && key.cooldown_until && new Date(key.cooldown_until) > now) {
    return {
      tone: "warn",
      label: `Resting until ${clock(key.cooldown_until, now)}`,
      detail: key.last_error ?? "Rate limited by the provider.",
    };
  }
  return { tone: "ok", label: "OK", detail: null };
}

/** Models typed one per line or separated by commas; blanks and repeats dropped. */
export function parseModels(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(/[\n,]/)) {
    const m = part.trim();
    if (m) seen.add(m);
  }
  return [...seen];
}

/** An optional positive whole number from a form field: null when blank. */
export function optionalInt(text: string): number | null | "invalid" {
  const t = text.trim();
  if (!t) return null;
  if (!/^\d+$/.test(t) || Number(t) < 1) return "invalid";
  return Number(t);
}

/** An optional non-negative amount of dollars: null when blank. */
export function optionalUsd(text: string): number | null | "invalid" {
  const t = text.trim().replace(/^\$/, "");
  if (!t) return null;
  if (!/^\d+(\.\d+)?$/.test(t)) return "invalid";
  return Number(t);
}

export type GatewayState = "active" | "revoked" | "expired";

export function gatewayState(
  key: Pick<GatewayKey, "revoked_at" | "expires_at">,
  now = new Date(),
): GatewayState {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && new Date(key.expires_at) <= now) return "expired";
  return "active";
}

/** Spend against budget as a fraction in [0, 1], or null without a budget. */
export function budgetShare(key: Pick<GatewayKey, "spend_usd" | "budget_usd">): number | null {
  if (key.budget_usd == null) return null;
  if (key.budget_usd <= 0) return 1;
  return Math.max(0, Math.min(1, key.spend_usd / key.budget_usd));
}

/** A date input's "YYYY-MM-DD" -> the end of that day in local time, as ISO. */
export function expiryFromDate(day: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(y, m - 1, d, 23, 59, 59).toISOString();
}
