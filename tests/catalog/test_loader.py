from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from aihub.catalog.loader import find_model, load_catalog, parse_catalog

SEED_NAMES = [
    # seed 003 examples and OpenAI models the issue names
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("openai", "gpt-4.1-mini"),
    ("openai", "gpt-4.1-nano"),
    ("openai", "o3"),
    ("openai", "o3-mini"),
    ("openai", "o4-mini"),
    ("openai", "gpt-4"),
    ("openai", "gpt-4-turbo"),
    ("openai", "gpt-3.5-turbo"),
    ("openai", "text-embedding-3-small"),
    ("openai", "text-embedding-3-large"),
    ("openai", "whisper-1"),
    ("openai", "gpt-4o-transcribe"),
    ("openai", "tts-1"),
    ("openai", "gpt-4o-mini-tts"),
    ("openai", "gpt-image-1"),
    ("openai", "dall-e-3"),
    # seed 000: Azure OpenAI
    ("azure", "gpt-4"),
    ("azure", "gpt-4-turbo"),
    ("azure", "gpt-3.5-turbo"),
    ("azure", "dall-e-3"),
    # Anthropic
    ("anthropic", "claude-3-opus"),
    ("anthropic", "claude-3-5-sonnet"),
    ("anthropic", "claude-3-5-haiku"),
    ("anthropic", "claude-3-7-sonnet"),
    ("anthropic", "claude-sonnet-4"),
    ("anthropic", "claude-opus-4"),
    ("anthropic", "claude-haiku-4-5"),
    # seed 004: Qwen
    ("qwen", "qwen-max"),
    ("qwen", "qwen-max-latest"),
    ("qwen", "qwen-plus"),
    ("qwen", "qwen-turbo"),
    ("qwen", "qwen-vl-max"),
    ("qwen", "qwen3-235b-a22b"),
    # seed 000: SuperDuperAI media
    ("superduperai", "google-cloud/imagen4"),
    ("superduperai", "azure-openai/sora"),
]


class TestShippedCatalog:
    def test_every_provider_has_models(self) -> None:
        providers = {info.provider for info in load_catalog().models}
        assert providers == {
            "openai",
            "azure",
            "anthropic",
            "qwen",
            "superduperai",
            "gemini",
            "bedrock",
        }

    @pytest.mark.parametrize(("provider", "model"), SEED_NAMES)
    def test_models_the_seeds_name_are_listed_under_their_own_id(
        self, provider: str, model: str
    ) -> None:
        info = find_model(provider, model)
        assert info is not None
        assert (info.provider, info.id) == (provider, model)

    def test_seed_gpt_4_keeps_the_seeds_figures(self) -> None:
        info = find_model("openai", "gpt-4")
        assert info is not None
        assert (info.name, info.max_tokens) == ("GPT-4", 8192)
        assert (info.pricing.input, info.pricing.output) == (10.0, 30.0)

    def test_seed_claude_3_opus_keeps_the_seeds_figures(self) -> None:
        info = find_model("anthropic", "claude-3-opus")
        assert info is not None
        assert (info.name, info.max_tokens) == ("Claude 3 Opus", 200000)
        assert (info.pricing.input, info.pricing.output) == (15.0, 75.0)

    def test_chat_and_embedding_models_have_a_window_and_token_prices(self) -> None:
        text = [i for i in load_catalog().models if i.kind in {"chat", "embedding"}]
        ids = {(info.provider, info.id) for info in text}
        assert {("openai", "gpt-4o"), ("openai", "text-embedding-3-small")} <= ids
        assert ("anthropic", "claude-3-opus") in ids
        for info in text:
            assert info.max_tokens, info.id
            assert info.pricing.input is not None, info.id

    def test_media_models_have_unit_prices_and_say_what_they_accept(self) -> None:
        models = load_catalog().models
        images = [info for info in models if info.kind == "image"]
        videos = [info for info in models if info.kind == "video"]
        assert ("openai", "dall-e-3") in {(i.provider, i.id) for i in images}
        assert "azure-openai/sora" in {info.id for info in videos}
        for info in images:
            assert info.pricing.per_image is not None, info.id
            assert info.accepts is not None, info.id
        for info in videos:
            assert info.pricing.per_second is not None, info.id
            assert info.accepts is not None, info.id
            assert info.accepts.duration is not None, info.id

    def test_openai_text_models_name_their_tokenizer(self) -> None:
        tokenizers = {
            info.id: info.tokenizer
            for info in load_catalog().models
            if info.provider == "openai" and info.kind in {"chat", "embedding"}
        }
        assert tokenizers["gpt-4o"] == "o200k_base"
        assert tokenizers["gpt-4"] == "cl100k_base"
        assert tokenizers["text-embedding-3-small"] == "cl100k_base"
        for model, tokenizer in tokenizers.items():
            assert tokenizer in {"o200k_base", "cl100k_base"}, model

    def test_anthropic_models_send_a_published_dated_id(self) -> None:
        anthropic = [i for i in load_catalog().models if i.provider == "anthropic"]
        assert "claude-3-opus" in {info.id for info in anthropic}
        for info in anthropic:
            assert re.fullmatch(r"claude-[a-z0-9-]+-\d{8}", info.api_model), info.id

    def test_cache_prices_are_below_input_and_writes_above(self) -> None:
        models = load_catalog().models
        reads = {
            (i.provider, i.id): (i.pricing.cached_input, i.pricing.input)
            for i in models
            if i.pricing.cached_input is not None and i.pricing.input is not None
        }
        writes = {
            (i.provider, i.id): (i.pricing.cache_write, i.pricing.input)
            for i in models
            if i.pricing.cache_write is not None and i.pricing.input is not None
        }
        assert ("openai", "gpt-4o") in reads
        assert ("anthropic", "claude-3-opus") in writes
        for name, (cached, full) in reads.items():
            assert cached < full, name
        for name, (write, full) in writes.items():
            assert write > full, name


ENTRY = """
[[models]]
providers = ["openai"]
id = "m1"
name = "M1"
kind = "chat"
capabilities = ["chat"]
aliases = {aliases}
pricing = {pricing}
"""


class TestParseCatalog:
    def test_valid_entry_is_indexed_by_id_and_alias(self) -> None:
        raw = ENTRY.format(aliases='["m1-2025-01-01"]', pricing="{ input = 1.0 }")
        catalog = parse_catalog(raw.encode())
        assert catalog.lookup("openai", "m1-2025-01-01") is catalog.models[0]

    def test_name_listed_twice_is_rejected(self) -> None:
        raw = ENTRY.format(aliases='["M1"]', pricing="{ input = 1.0 }")
        with pytest.raises(ValueError, match="listed twice"):
            parse_catalog(raw.encode())

    def test_negative_price_is_rejected(self) -> None:
        raw = ENTRY.format(aliases="[]", pricing="{ input = -1.0 }")
        with pytest.raises(ValidationError):
            parse_catalog(raw.encode())

    def test_misspelt_price_key_is_rejected(self) -> None:
        raw = ENTRY.format(aliases="[]", pricing="{ imput = 1.0 }")
        with pytest.raises(ValidationError):
            parse_catalog(raw.encode())


class TestFindModel:
    @pytest.mark.parametrize(
        ("provider", "model", "expected"),
        [
            ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
            ("openai", "GPT-4o", "gpt-4o"),
            ("openai", " gpt-4o-mini ", "gpt-4o-mini"),
            ("openai", "gpt-4-0613", "gpt-4"),
            ("openai", "gpt-4-1106-preview", "gpt-4-turbo"),
            ("openai", "gpt-4.1-2025-04-14", "gpt-4.1"),
            ("openai", "o3-mini-2025-01-31", "o3-mini"),
            ("azure", "gpt-35-turbo", "gpt-3.5-turbo"),
            ("anthropic", "claude-3-opus-20240229", "claude-3-opus"),
            ("anthropic", "claude-3-5-sonnet-20240620", "claude-3-5-sonnet"),
            ("anthropic", "claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
            ("anthropic", "claude-sonnet-4-0", "claude-sonnet-4"),
            ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("qwen", "qwen-plus-2025-04-28", "qwen-plus"),
            ("qwen", "qwen-max-latest", "qwen-max-latest"),
            ("superduperai", "veo3", "google-cloud/veo3"),
            ("superduperai", "flux-kontext", "fal-ai/flux-pro/kontext"),
            ("superduperai", "gpt-image-1", "azure-openai/gpt-image-1"),
        ],
    )
    def test_aliases_and_dated_snapshots_resolve_to_the_base_entry(
        self, provider: str, model: str, expected: str
    ) -> None:
        info = find_model(provider, model)
        assert info is not None
        assert (info.provider, info.id) == (provider, expected)

    @pytest.mark.parametrize(
        ("provider", "model", "expected"),
        [
            ("openai_compatible", "gpt-4o", ("openai", "gpt-4o")),
            ("openai_compatible", "openai/gpt-4o-mini", ("openai", "gpt-4o-mini")),
            (
                "openai_compatible",
                "anthropic/claude-3.5-sonnet",
                ("anthropic", "claude-3-5-sonnet"),
            ),
            ("openai_compatible", "qwen/qwen-max", ("qwen", "qwen-max")),
            ("azure", "claude-3-opus", ("anthropic", "claude-3-opus")),
        ],
    )
    def test_model_served_by_another_provider_is_priced_as_its_base(
        self, provider: str, model: str, expected: tuple[str, str]
    ) -> None:
        info = find_model(provider, model)
        assert info is not None
        assert (info.provider, info.id) == expected

    def test_providers_own_entry_wins_over_the_fallback(self) -> None:
        info = find_model("azure", "gpt-4o")
        assert info is not None
        assert info.provider == "azure"

    @pytest.mark.parametrize(
        ("provider", "model"),
        [
            ("openai", "no-such-model"),
            ("openai_compatible", "llama3:8b"),
            ("openai", ""),
            ("openai", "gpt-4o" + "x" * 500),
            ("openai", "'; DROP TABLE models; --"),
            ("nobody", "../../etc/passwd"),
        ],
    )
    def test_unknown_model_is_none(self, provider: str, model: str) -> None:
        assert find_model(provider, model) is None
