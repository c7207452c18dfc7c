"""Token counts. Expected figures are OpenAI's own, from its cookbook "How to
count tokens with tiktoken": token ids printed there and prompt_tokens that
the OpenAI API reported for the same chat messages."""

from __future__ import annotations

import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import tiktoken

from aihub.catalog import tokens
from aihub.catalog.tokens import (
    TokenizerDataError,
    acount_messages,
    acount_tokens,
    count_messages,
    count_tokens,
    get_encoding,
    read_verified,
)

COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that "
        "translates corporate jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base "
        "on opportunities for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean "
        "for the client deliverable.",
    },
]


class TestEncodings:
    @pytest.mark.parametrize(
        ("text", "ids"),
        [
            ("hello world", [15339, 1917]),
            ("antidisestablishmentarianism", [519, 85342, 34500, 479, 8997, 2191]),
            ("2 + 2 = 4", [17, 489, 220, 17, 284, 220, 19]),
        ],
    )
    def test_cl100k_gives_openais_token_ids(self, text: str, ids: list[int]) -> None:
        assert get_encoding("cl100k_base").encode(text) == ids

    @pytest.mark.parametrize(
        ("text", "ids"),
        [
            ("tiktoken is great!", [83, 8251, 2488, 382, 2212, 0]),
            ("antidisestablishmentarianism", [493, 129901, 376, 160388, 21203, 2367]),
            ("2 + 2 = 4", [17, 659, 220, 17, 314, 220, 19]),
        ],
    )
    def test_o200k_gives_openais_token_ids(self, text: str, ids: list[int]) -> None:
        assert get_encoding("o200k_base").encode(text) == ids

    def test_non_latin_script_counts_match_openai(self) -> None:
        text = "お誕生日おめでとう"
        assert len(get_encoding("cl100k_base").encode(text)) == 9
        assert len(get_encoding("o200k_base").encode(text)) == 8

    @pytest.mark.disable_socket
    def test_encodings_load_offline_and_write_no_cache(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cache = tmp_path / "tiktoken-cache"
        cache.mkdir()
        monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(cache))
        monkeypatch.setattr(tokens, "_ENCODINGS_LOADED", {})
        tokens.warm_up()
        assert count_tokens("openai", "gpt-4o", "tiktoken is great!") == (6, False)
        assert count_tokens("openai", "gpt-4", "hello world") == (2, False)
        assert list(cache.iterdir()) == []

    def test_file_with_wrong_hash_is_rejected(self) -> None:
        with pytest.raises(TokenizerDataError, match="hash"):
            read_verified(
                "bpe-openai", "bpe_openai/data/o200k_base.tiktoken.gz", "0" * 64
            )

    def test_missing_package_is_reported(self) -> None:
        with pytest.raises(TokenizerDataError, match="not installed"):
            read_verified("aihub-no-such-package", "x/data.tiktoken", "0" * 64)


class TestCountTokens:
    def test_gpt_4o_counts_exactly_with_o200k(self) -> None:
        assert count_tokens("openai", "gpt-4o", "tiktoken is great!") == (6, False)

    def test_gpt_4_counts_exactly_with_cl100k(self) -> None:
        assert count_tokens("openai", "gpt-4", "hello world") == (2, False)

    @pytest.mark.parametrize(
        ("provider", "model", "expected"),
        [
            ("openai", "gpt-4o-2024-08-06", 6),
            ("azure", "gpt-4o", 6),
            ("openai_compatible", "openai/gpt-4.1-mini", 6),
            ("openai", "o3", 6),
            ("openai", "gpt-4o-audio-preview", 6),
            ("azure", "gpt-35-turbo", 6),
            ("openai", "text-embedding-3-small", 6),
        ],
    )
    def test_snapshots_azure_and_proxies_of_openai_models_are_exact(
        self, provider: str, model: str, expected: int
    ) -> None:
        text = "antidisestablishmentarianism"
        assert count_tokens(provider, model, text) == (expected, False)

    def test_claude_is_an_estimate_scaled_from_o200k(self) -> None:
        count, estimated = count_tokens("anthropic", "claude-3-opus", "hello world")
        assert estimated is True
        assert count == math.ceil(2 * 1.2)

    def test_qwen_is_an_estimate(self) -> None:
        text = "tiktoken is great!"
        assert count_tokens("qwen", "qwen-max-latest", text) == (6, True)

    def test_unknown_model_is_an_estimate(self) -> None:
        text = "tiktoken is great!"
        assert count_tokens("openai_compatible", "llama3:8b", text) == (6, True)

    def test_empty_text_is_zero_tokens(self) -> None:
        assert count_tokens("openai", "gpt-4o", "") == (0, False)

    def test_special_token_markers_count_as_plain_text(self) -> None:
        count, estimated = count_tokens("openai", "gpt-4", "<|endoftext|>")
        assert estimated is False
        assert count > 1

    def test_seed_example_is_counted_exactly(self) -> None:
        text = (
            "Проанализируй текст Пушкина 'Евгений Онегин' "
            "и выдели основные темы произведения"
        )
        expected = len(get_encoding("o200k_base").encode(text))
        assert count_tokens("openai", "gpt-4o", text) == (expected, False)

    async def test_long_text_counted_off_the_loop_gives_the_same_count(self) -> None:
        text = " ".join(["The quick brown fox jumps over the lazy dog."] * 1000)
        assert len(text) > tokens.ASYNC_THRESHOLD
        expected = count_tokens("openai", "gpt-4o", text)
        assert expected == (10 * 1000, False)
        assert await acount_tokens("openai", "gpt-4o", text) == expected


@dataclass
class Message:
    role: str
    content: object
    name: str | None = None


class TestCountMessages:
    @pytest.mark.parametrize(
        ("model", "api_prompt_tokens"),
        [
            ("gpt-3.5-turbo", 129),
            ("gpt-4-0613", 129),
            ("gpt-4", 129),
            ("gpt-4o", 124),
            ("gpt-4o-mini", 124),
        ],
    )
    def test_matches_prompt_tokens_reported_by_openai(
        self, model: str, api_prompt_tokens: int
    ) -> None:
        counted = count_messages("openai", model, COOKBOOK_MESSAGES)
        assert counted == (api_prompt_tokens, False)

    def test_system_prompt_is_framed_as_the_first_message(self) -> None:
        system = str(COOKBOOK_MESSAGES[0]["content"])
        counted = count_messages("openai", "gpt-4", COOKBOOK_MESSAGES[1:], system)
        assert counted == (129, False)

    def test_message_objects_count_like_mappings(self) -> None:
        objects = [Message(**message) for message in COOKBOOK_MESSAGES]
        assert count_messages("openai", "gpt-4o", objects) == (124, False)

    def test_text_parts_count_like_a_string(self) -> None:
        as_string = [{"role": "user", "content": "tiktoken is great!"}]
        as_parts = [
            {
                "role": "user",
                "content": [{"type": "text", "text": "tiktoken is great!"}],
            }
        ]
        assert count_messages("openai", "gpt-4o", as_parts) == count_messages(
            "openai", "gpt-4o", as_string
        )

    def test_empty_conversation_costs_the_reply_priming(self) -> None:
        assert count_messages("openai", "gpt-4o", []) == (3, False)

    def test_low_detail_image_costs_exactly_85_tokens(self) -> None:
        image = {"type": "image_url", "image_url": {"url": "x", "detail": "low"}}
        text_only = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        with_image = [
            {"role": "user", "content": [{"type": "text", "text": "hi"}, image]}
        ]
        base, _ = count_messages("openai", "gpt-4o", text_only)
        assert count_messages("openai", "gpt-4o", with_image) == (base + 85, False)

    def test_image_of_unknown_size_makes_the_count_an_estimate(self) -> None:
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}
        messages = [{"role": "user", "content": [image]}]
        count, estimated = count_messages("openai", "gpt-4o", messages)
        assert estimated is True
        assert count == 3 + 3 + 1 + tokens.IMAGE_ESTIMATE

    def test_tool_calls_are_counted_as_an_estimate(self) -> None:
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
        plain = [{"role": "assistant", "content": None}]
        with_call = [{"role": "assistant", "content": None, "tool_calls": [call]}]
        base, _ = count_messages("openai", "gpt-4o", plain)
        count, estimated = count_messages("openai", "gpt-4o", with_call)
        assert estimated is True
        assert count > base

    async def test_async_variant_counts_the_same(self) -> None:
        expected = count_messages("openai", "gpt-4o", COOKBOOK_MESSAGES)
        counted = await acount_messages("openai", "gpt-4o", COOKBOOK_MESSAGES)
        assert counted == expected == (124, False)

    def test_claude_conversation_is_an_estimate(self) -> None:
        exact, _ = count_messages("openai", "gpt-4o", COOKBOOK_MESSAGES)
        counted = count_messages("anthropic", "claude-sonnet-4", COOKBOOK_MESSAGES)
        assert counted == (math.ceil(exact * 1.2), True)


class TestLazyLoading:
    """~50 MiB per encoding: loaded on first use, never at startup."""

    async def test_an_encoding_loads_on_first_count_only(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tokens, "_ENCODINGS_LOADED", {})
        assert tokens.loaded_encodings() == []
        assert await tokens.acount_tokens("openai", "gpt-4", "hello world") == (
            2,
            False,
        )
        assert tokens.loaded_encodings() == ["cl100k_base"]
        # an estimate for a non-OpenAI model counts with o200k_base
        count, estimated = await tokens.acount_tokens(
            "anthropic", "claude-3-opus", "hi"
        )
        assert estimated is True
        assert count > 0
        assert tokens.loaded_encodings() == ["cl100k_base", "o200k_base"]

    def test_threads_asking_at_once_load_it_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tokens, "_ENCODINGS_LOADED", {})
        built: list[str] = []
        load = tokens._load_encoding

        def counting_load(name: str) -> tiktoken.Encoding:
            built.append(name)
            return load(name)

        monkeypatch.setattr(tokens, "_load_encoding", counting_load)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(get_encoding, ["cl100k_base"] * 4))
        assert built == ["cl100k_base"]
        assert all(result is results[0] for result in results)


def test_a_started_app_holds_no_encoding(tmp_path: Path) -> None:
    """Startup does not load tokenizers (checked in a fresh interpreter: this
    test process has them loaded already)."""
    script = f"""
import asyncio
from asgi_lifespan import LifespanManager
from aihub.catalog import tokens
from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.migrate import upgrade

url = "sqlite+aiosqlite:///{tmp_path / "lazy.db"}"
upgrade(url)
settings = Settings(data_dir="{tmp_path}", database_url=url,
                    admin_email="a@example.com", admin_password="long-password-1")

async def main() -> None:
    async with LifespanManager(create_app(settings), startup_timeout=60):
        print("loaded:", tokens.loaded_encodings())

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded: []" in done.stdout
