"""Worked examples, computed by hand from the catalog's prices (USD per 1M
tokens) and written out in each test so a wrong price or formula shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from aihub.usage.cost import (
    CostBreakdown,
    MediaCost,
    TokenUsage,
    compute_cost,
    compute_media_cost,
)


@dataclass(frozen=True)
class RawAnthropicUsage:
    """A usage object that keeps Anthropic's convention and says so."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    prompt_includes_cache: bool = False


class TestOpenAI:
    def test_gpt_4o_with_cached_prompt_tokens(self) -> None:
        usage = TokenUsage(prompt_tokens=1000, completion_tokens=500, cached_tokens=200)
        # 800 x 2.50 + 200 x 1.25 + 500 x 10.00 (per 1M)
        assert compute_cost("openai", "gpt-4o", usage) == CostBreakdown(
            total=0.00725,
            input=0.002,
            cached_input=0.00025,
            output=0.005,
            known_price=True,
        )

    def test_o3_reasoning_tokens_inside_completion_are_not_counted_twice(
        self,
    ) -> None:
        usage = TokenUsage(
            prompt_tokens=10_000,
            completion_tokens=3_000,
            cached_tokens=4_000,
            reasoning_tokens=2_000,
        )
        # 6000 x 2 + 4000 x 0.5 + 1000 visible x 8 + 2000 reasoning x 8
        assert compute_cost("openai", "o3", usage) == CostBreakdown(
            total=0.038,
            input=0.012,
            cached_input=0.002,
            output=0.008,
            reasoning=0.016,
            known_price=True,
        )

    def test_usage_block_from_the_wire_prices_the_same_streamed_or_not(self) -> None:
        block: dict[str, Any] = {
            "prompt_tokens": 10_000,
            "completion_tokens": 3_000,
            "total_tokens": 13_000,
            "prompt_tokens_details": {"cached_tokens": 4_000, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 2_000},
        }
        final_stream_chunk: dict[str, Any] = {"id": "c", "choices": [], "usage": block}
        plain = compute_cost("openai", "o3", TokenUsage.from_openai(block))
        streamed = compute_cost(
            "openai", "o3", TokenUsage.from_openai(final_stream_chunk["usage"])
        )
        assert plain == streamed
        assert plain.total == 0.038

    def test_dated_snapshot_costs_the_same_as_its_base(self) -> None:
        usage = TokenUsage(prompt_tokens=1234, completion_tokens=567)
        assert compute_cost("openai", "gpt-4o-2024-08-06", usage) == compute_cost(
            "openai", "gpt-4o", usage
        )

    def test_seed_gpt_4_uses_the_seed_prices(self) -> None:
        usage = TokenUsage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
        assert compute_cost("openai", "gpt-4", usage).total == 40.0

    def test_embedding_has_no_output_price(self) -> None:
        usage = TokenUsage(prompt_tokens=50_000)
        # 50000 x 0.02
        assert compute_cost("openai", "text-embedding-3-small", usage).total == 0.001


class TestAnthropic:
    # claude-sonnet-4: input 3, cache read 0.30, cache write 3.75, output 15.
    # Raw usage: input_tokens=100 (excludes the cache), cache_read=2000,
    # cache_creation=500, output_tokens=300.
    EXPECTED = CostBreakdown(
        total=0.007275,
        input=0.0003,
        cached_input=0.0006,
        cache_write=0.001875,
        output=0.0045,
        known_price=True,
    )
    BLOCK: ClassVar[dict[str, int]] = {
        "input_tokens": 100,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 500,
        "output_tokens": 300,
    }

    def test_normalized_usage_with_cache_read_and_write(self) -> None:
        usage = TokenUsage.from_anthropic(self.BLOCK)
        assert usage.prompt_tokens == 2600
        assert compute_cost("anthropic", "claude-sonnet-4", usage) == self.EXPECTED

    def test_raw_convention_with_the_flag_prices_the_same(self) -> None:
        usage = TokenUsage(
            prompt_tokens=100,
            completion_tokens=300,
            cached_tokens=2000,
            cache_write_tokens=500,
        )
        cost = compute_cost(
            "anthropic", "claude-sonnet-4", usage, prompt_includes_cache=False
        )
        assert cost == self.EXPECTED

    def test_usage_object_carrying_the_flag_prices_the_same(self) -> None:
        usage = RawAnthropicUsage(
            prompt_tokens=100,
            completion_tokens=300,
            cached_tokens=2000,
            cache_write_tokens=500,
        )
        assert compute_cost("anthropic", "claude-sonnet-4", usage) == self.EXPECTED

    def test_dated_id_prices_like_the_seed_claude_3_opus(self) -> None:
        usage = TokenUsage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
        cost = compute_cost("anthropic", "claude-3-opus-20240229", usage)
        assert (cost.input, cost.output, cost.total) == (15.0, 75.0, 90.0)


class TestQwen:
    def test_qwen_max(self) -> None:
        usage = TokenUsage(prompt_tokens=1000, completion_tokens=1000)
        # 1000 x 1.6 + 1000 x 6.4
        cost = compute_cost("qwen", "qwen-max-latest", usage)
        assert (cost.input, cost.output, cost.total) == (0.0016, 0.0064, 0.008)

    def test_cached_tokens_without_a_cache_price_cost_the_input_rate(self) -> None:
        usage = TokenUsage(prompt_tokens=1000, completion_tokens=0, cached_tokens=400)
        cost = compute_cost("qwen", "qwen-max", usage)
        assert (cost.input, cost.cached_input, cost.total) == (0.00096, 0.00064, 0.0016)

    def test_thinking_call_bills_all_output_at_the_thinking_rate(self) -> None:
        usage = TokenUsage(
            prompt_tokens=1000, completion_tokens=3000, reasoning_tokens=2000
        )
        # 1000 x 0.4 + (1000 visible + 2000 reasoning) x 4.0
        assert compute_cost("qwen", "qwen-plus", usage) == CostBreakdown(
            total=0.0124,
            input=0.0004,
            output=0.004,
            reasoning=0.008,
            known_price=True,
        )

    def test_non_thinking_call_bills_output_at_the_normal_rate(self) -> None:
        usage = TokenUsage(prompt_tokens=1000, completion_tokens=1000)
        # 1000 x 0.4 + 1000 x 1.2
        assert compute_cost("qwen", "qwen-plus", usage).total == 0.0016


class TestResolutionAndUnknowns:
    def test_azure_name_prices_like_the_openai_model(self) -> None:
        usage = TokenUsage(prompt_tokens=2000, completion_tokens=1000)
        # 2000 x 0.5 + 1000 x 1.5
        azure = compute_cost("azure", "gpt-35-turbo", usage)
        assert azure.total == 0.0025
        assert azure == compute_cost("openai", "gpt-3.5-turbo", usage)

    def test_openai_compatible_proxy_prices_by_the_base_model(self) -> None:
        usage = TokenUsage(prompt_tokens=1000, completion_tokens=500)
        assert compute_cost("openai_compatible", "openai/gpt-4o", usage).total == (
            0.0075
        )

    def test_unknown_model_costs_nothing_and_is_flagged(self) -> None:
        usage = TokenUsage(prompt_tokens=1000, completion_tokens=500)
        cost = compute_cost("openai_compatible", "llama3:8b", usage)
        assert cost == CostBreakdown(known_price=False)
        assert cost.total == 0.0

    def test_media_model_has_no_token_price(self) -> None:
        usage = TokenUsage(prompt_tokens=1000)
        assert compute_cost("openai", "dall-e-3", usage).known_price is False


class TestEdges:
    def test_amounts_are_rounded_to_1e_8(self) -> None:
        usage = TokenUsage(prompt_tokens=333)
        # 333 x 0.15 / 1M = 4.995e-05 (floating point gives 4.99499...e-05)
        assert compute_cost("openai", "gpt-4o-mini", usage).total == 4.995e-05

    def test_cached_tokens_above_the_prompt_never_go_negative(self) -> None:
        usage = TokenUsage(prompt_tokens=10, completion_tokens=0, cached_tokens=50)
        cost = compute_cost("openai", "gpt-4o", usage)
        assert cost.input == 0.0
        assert cost.cached_input == 0.0000625

    def test_reasoning_above_completion_is_capped(self) -> None:
        usage = TokenUsage(completion_tokens=100, reasoning_tokens=500)
        cost = compute_cost("openai", "o4-mini", usage)
        # all 100 completion tokens are reasoning: 100 x 4.4
        assert (cost.output, cost.reasoning, cost.total) == (0.0, 0.00044, 0.00044)

    def test_zero_usage_costs_zero_with_a_known_price(self) -> None:
        assert compute_cost("openai", "gpt-4o", TokenUsage()) == CostBreakdown(
            known_price=True
        )


class TestMediaCost:
    def test_imagen_4_per_image(self) -> None:
        cost = compute_media_cost("superduperai", "google-cloud/imagen4", images=3)
        assert cost == MediaCost(total=0.06, images=0.06, known_price=True)

    def test_sora_per_second_for_the_seed_request(self) -> None:
        cost = compute_media_cost("superduperai", "azure-openai/sora", seconds=10)
        assert cost == MediaCost(total=0.2, seconds=0.2, known_price=True)

    def test_veo_3_per_second(self) -> None:
        assert compute_media_cost("superduperai", "veo3", seconds=8).total == 0.24

    @pytest.mark.parametrize(
        ("size", "quality", "per_image"),
        [
            ("1024x1024", "standard", 0.04),
            ("1792x1024", "standard", 0.08),
            ("1024x1792", "hd", 0.12),
            (None, None, 0.04),
        ],
    )
    def test_dall_e_3_priced_by_size_and_quality(
        self, size: str | None, quality: str | None, per_image: float
    ) -> None:
        cost = compute_media_cost(
            "azure", "dall-e-3", images=2, size=size, quality=quality
        )
        assert cost.total == round(2 * per_image, 8)

    def test_gpt_image_1_high_quality_landscape(self) -> None:
        cost = compute_media_cost(
            "openai", "gpt-image-1", images=1, size="1536x1024", quality="high"
        )
        assert cost.total == 0.25

    def test_whisper_per_second_of_audio(self) -> None:
        # $0.006 per minute: 90 s
        assert compute_media_cost("openai", "whisper-1", seconds=90).total == 0.009

    def test_tts_per_character(self) -> None:
        # $15 per 1M characters: 1000 characters
        cost = compute_media_cost("openai", "tts-1", characters=1000)
        assert cost == MediaCost(total=0.015, characters=0.015, known_price=True)

    def test_unknown_media_model_costs_nothing_and_is_flagged(self) -> None:
        assert compute_media_cost("superduperai", "nope", images=1) == MediaCost()

    def test_unit_the_model_has_no_price_for_is_unknown(self) -> None:
        cost = compute_media_cost("superduperai", "azure-openai/sora", images=1)
        assert cost == MediaCost(known_price=False)

    def test_nothing_generated_costs_zero(self) -> None:
        cost = compute_media_cost("superduperai", "google-cloud/imagen4")
        assert cost == MediaCost(known_price=True)

    def test_negative_quantity_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            compute_media_cost("superduperai", "google-cloud/imagen4", images=-1)
