"""The cost engine: one function prices every call, streamed or not.

Normalized usage convention (OpenAI's, which the providers layer follows):
- prompt_tokens counts ALL input tokens, including cached_tokens (read from the
  prompt cache) and cache_write_tokens (written to it);
- completion_tokens counts ALL output tokens, including reasoning_tokens.
Anthropic reports cache_read_input_tokens and cache_creation_input_tokens
OUTSIDE input_tokens: either normalize (TokenUsage.from_anthropic) or pass the
raw figures with prompt_includes_cache=False (or a usage object whose
`prompt_includes_cache` attribute is False). Both price the same.

Pricing (USD per 1M tokens, from the catalog): uncached prompt tokens at
`input`, cached at `cached_input`, cache writes at `cache_write` (Anthropic's
5-minute rate), visible completion tokens at `output`, reasoning tokens at
`reasoning` (defaults: input / input / output). A model with `thinking_output`
(Qwen) bills its whole output at that rate when the call reasoned. Amounts are
rounded to 1e-8 USD. An unknown model costs 0 with known_price=False.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from aihub.catalog import service as catalog_service
from aihub.catalog.schemas import ModelPricing

log = structlog.get_logger(__name__)

PER_MILLION = 1_000_000
DECIMALS = 8


class UsageLike(Protocol):
    """What compute_cost reads; providers.base.Usage satisfies it."""

    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def cached_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Usage in the normalized convention (see the module docstring)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any]) -> TokenUsage:
        """From an OpenAI/Azure/DashScope `usage` block (chat completions)."""
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(prompt_details.get("cached_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        )

    @classmethod
    def from_anthropic(cls, usage: Mapping[str, Any]) -> TokenUsage:
        """From an Anthropic Messages `usage` block (cache counts outside
        input_tokens), moved into the normalized convention."""
        read = int(usage.get("cache_read_input_tokens") or 0)
        write = int(usage.get("cache_creation_input_tokens") or 0)
        return cls(
            prompt_tokens=int(usage.get("input_tokens") or 0) + read + write,
            completion_tokens=int(usage.get("output_tokens") or 0),
            cached_tokens=read,
            cache_write_tokens=write,
        )


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """USD per component; `total` is their sum. known_price is False when the
    model (or its token prices) is not in the catalog: every amount is then 0."""

    total: float = 0.0
    input: float = 0.0
    output: float = 0.0
    cached_input: float = 0.0
    cache_write: float = 0.0
    reasoning: float = 0.0
    known_price: bool = False


@dataclass(frozen=True, slots=True)
class MediaCost:
    """USD for generated images, seconds of audio/video or TTS characters."""

    total: float = 0.0
    images: float = 0.0
    seconds: float = 0.0
    characters: float = 0.0
    known_price: bool = False


def _usd(tokens: int, rate: float) -> float:
    return tokens * rate / PER_MILLION


def _split(usage: UsageLike, includes_cache: bool) -> tuple[int, int, int, int, int]:
    """(uncached input, cached read, cache write, visible output, reasoning)."""
    prompt = max(usage.prompt_tokens or 0, 0)
    cached = max(usage.cached_tokens or 0, 0)
    written = max(usage.cache_write_tokens or 0, 0)
    uncached = prompt - cached - written if includes_cache else prompt
    if uncached < 0:
        log.warning(
            "usage_cache_exceeds_prompt", prompt=prompt, cached=cached, written=written
        )
        uncached = 0
    completion = max(usage.completion_tokens or 0, 0)
    reasoning = min(max(usage.reasoning_tokens or 0, 0), completion)
    return uncached, cached, written, completion - reasoning, reasoning


def price_tokens(
    pricing: ModelPricing, usage: UsageLike, *, prompt_includes_cache: bool = True
) -> CostBreakdown:
    """Apply one model's prices to one usage (see the module docstring)."""
    uncached, cached, written, visible, reasoning = _split(usage, prompt_includes_cache)
    input_rate = pricing.input or 0.0
    output_rate = pricing.output or 0.0
    reasoning_rate = output_rate if pricing.reasoning is None else pricing.reasoning
    if pricing.thinking_output is not None and reasoning:
        output_rate = reasoning_rate = pricing.thinking_output
    parts = {
        "input": _usd(uncached, input_rate),
        "cached_input": _usd(cached, _or(pricing.cached_input, input_rate)),
        "cache_write": _usd(written, _or(pricing.cache_write, input_rate)),
        "output": _usd(visible, output_rate),
        "reasoning": _usd(reasoning, reasoning_rate),
    }
    rounded = {key: round(value, DECIMALS) for key, value in parts.items()}
    return CostBreakdown(
        total=round(sum(parts.values()), DECIMALS), known_price=True, **rounded
    )


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def compute_cost(
    provider: str,
    model: str,
    usage: UsageLike,
    *,
    prompt_includes_cache: bool | None = None,
) -> CostBreakdown:
    """Price one call's usage with the catalog price of (provider, model).
    prompt_includes_cache=None reads the usage's own `prompt_includes_cache`
    attribute, defaulting to the normalized convention (True)."""
    info = catalog_service.find_model(provider, model)
    if info is None or not info.pricing.has_token_prices:
        return CostBreakdown()
    if prompt_includes_cache is None:
        prompt_includes_cache = bool(getattr(usage, "prompt_includes_cache", True))
    return price_tokens(
        info.pricing, usage, prompt_includes_cache=prompt_includes_cache
    )


@dataclass(frozen=True, slots=True)
class CacheSaving:
    """USD one model's caching saved (0 where the catalog has no price)."""

    prompt_cache: float = 0.0
    response_cache: float = 0.0


def cache_saving(
    provider: str,
    model: str,
    *,
    prompt_cache_tokens: int,
    cached_prompt_tokens: int,
    cached_completion_tokens: int,
) -> CacheSaving:
    """Prompt-cache reads saved (input - cached_input) per token; an answer
    from aihub's response cache saved the whole call it replaced."""
    info = catalog_service.find_model(provider, model)
    if info is None or not info.pricing.has_token_prices:
        return CacheSaving()
    pricing = info.pricing
    input_rate = pricing.input or 0.0
    cached_rate = _or(pricing.cached_input, input_rate)
    prompt_cache = _usd(prompt_cache_tokens, max(input_rate - cached_rate, 0.0))
    replaced = TokenUsage(
        prompt_tokens=cached_prompt_tokens, completion_tokens=cached_completion_tokens
    )
    return CacheSaving(
        prompt_cache=prompt_cache,
        response_cache=price_tokens(pricing, replaced).total,
    )


def _image_price(
    pricing: ModelPricing, size: str | None, quality: str | None
) -> float | None:
    by_size = pricing.per_image_by_size or {}
    for key in (f"{quality}:{size}", size):
        if key is not None and key in by_size:
            return by_size[key]
    return pricing.per_image


def compute_media_cost(
    provider: str,
    model: str,
    *,
    images: int = 0,
    seconds: float = 0.0,
    characters: int = 0,
    size: str | None = None,
    quality: str | None = None,
) -> MediaCost:
    """Price generated media: `images` (by size/quality when the catalog has a
    table, e.g. dall-e-3 "hd:1024x1792"), `seconds` of video or audio, or TTS
    `characters`. A quantity whose unit the model has no price for makes the
    result unknown (all zero, known_price=False)."""
    if images < 0 or seconds < 0 or characters < 0:
        raise ValueError("media quantities must not be negative")
    info = catalog_service.find_model(provider, model)
    if info is None:
        return MediaCost()
    quantities = {
        "images": float(images),
        "seconds": float(seconds),
        "characters": characters / PER_MILLION,
    }
    rates = {
        "images": _image_price(info.pricing, size, quality),
        "seconds": info.pricing.per_second,
        "characters": info.pricing.per_1m_characters,
    }
    if not any(quantities.values()):
        return MediaCost(known_price=any(r is not None for r in rates.values()))
    if any(quantities[unit] and rates[unit] is None for unit in quantities):
        return MediaCost()
    amounts = {unit: quantities[unit] * (rates[unit] or 0.0) for unit in quantities}
    rounded = {key: round(value, DECIMALS) for key, value in amounts.items()}
    return MediaCost(
        total=round(sum(amounts.values()), DECIMALS), known_price=True, **rounded
    )
