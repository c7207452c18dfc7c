/** Per-answer and per-thread figures: cost, tokens, latency. */

export interface AnswerStats {
  model: string | null;
  provider: string | null;
  latencyMs: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cost: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Stats from a stored answer's meta_data (written by the chat core when it ends). */
export function statsFromMeta(
  meta: Record<string, unknown> | null | undefined,
  model: string | null,
  provider: string | null,
): AnswerStats {
  const tokens = (meta?.tokens ?? {}) as Record<string, unknown>;
  return {
    model,
    provider,
    latencyMs: num(meta?.latency_ms),
    promptTokens: num(tokens.prompt_tokens),
    completionTokens: num(tokens.completion_tokens),
    cost: num(meta?.cost),
  };
}

export function formatCost(cost: number | null): string {
  if (cost === null) return "—";
  if (cost === 0) return "$0";
  if (cost < 0.0001) return "<$0.0001";
  if (cost < 0.01) return `$${cost.toFixed(4)}`;
  return `$${cost.toFixed(cost < 1 ? 3 : 2)}`;
}

export function formatLatency(ms: number | null): string {
  if (ms === null) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatTokens(n: number | null): string {
  if (n === null) return "—";
  return n < 10_000 ? String(n) : `${(n / 1000).toFixed(1)}k`;
}
