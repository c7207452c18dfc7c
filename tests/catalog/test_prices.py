"""Prices: the genai-prices database where it has the model, the catalog's own
table elsewhere and for pinned entries, SuperDuperAI credits in dollars, and an
administrator's overrides on top."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from aihub.catalog import prices
from aihub.catalog.loader import (
    _shipped_catalog,
    catalog_price_keys,
    load_catalog,
    price_catalog,
)
from aihub.catalog.schemas import ModelInfo


def _entry(provider: str, model: str) -> ModelInfo:
    catalog = load_catalog()
    found = catalog.lookup(provider, model)
    assert found is not None, f"{provider}/{model} not in the catalog"
    return found


@pytest.fixture(scope="module")
def exported() -> prices.Prices:
    """What the child process exports from the installed database."""
    done = subprocess.run(
        [sys.executable, "-m", "aihub.catalog.prices"],
        input=json.dumps(catalog_price_keys()).encode(),
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout)


class TestDatabaseExport:
    def test_the_database_prices_current_openai_and_anthropic_models(
        self, exported: prices.Prices
    ) -> None:
        assert exported["openai/gpt-4o"] == {
            "input": 2.5,
            "output": 10.0,
            "cached_input": 1.25,
        }
        sonnet = exported["anthropic/claude-sonnet-4-5"]
        assert (sonnet["input"], sonnet["output"]) == (3.0, 15.0)
        assert sonnet["cache_write"] == 3.75

    def test_only_token_priced_unpinned_models_are_asked_for(
        self, exported: prices.Prices
    ) -> None:
        asked = {f"{p}/{m}" for p, m in catalog_price_keys()}
        assert set(exported) <= asked
        # seed 003's examples keep the seed's figures (gpt-4 lists at 30/60)
        assert "openai/gpt-4" not in asked
        assert "anthropic/claude-3-opus" not in asked
        # per-image and per-character models keep the catalog's units
        assert "openai/dall-e-3" not in asked
        assert "openai/tts-1" not in asked
        # providers the database does not know keep the catalog's prices
        assert not any(key.startswith("qwen/") for key in exported)

    def test_load_reads_the_cache_and_exports_only_once(self, tmp_path: Path) -> None:
        wanted = [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5")]
        first = prices.load_prices(tmp_path, wanted)
        assert set(first) == {"openai/gpt-4o", "anthropic/claude-sonnet-4-5"}
        version = prices.database_version()
        assert version is not None
        cached = prices.cache_file(tmp_path, version, wanted)
        assert json.loads(cached.read_text())["prices"] == first
        cached.write_text(json.dumps({"prices": {"openai/x": {"input": 1.0}}}))
        assert prices.load_prices(tmp_path, wanted) == {"openai/x": {"input": 1.0}}
        # a catalog that asks for another model is not served the old file
        more = [*wanted, ("openai", "gpt-4o-mini")]
        assert "openai/gpt-4o-mini" in prices.load_prices(tmp_path, more)

    def test_an_unreadable_cache_is_exported_again(self, tmp_path: Path) -> None:
        wanted = [("openai", "gpt-4o")]
        version = prices.database_version()
        assert version is not None
        prices.cache_file(tmp_path, version, wanted).write_text("{not json")
        assert "openai/gpt-4o" in prices.load_prices(tmp_path, wanted)


class TestPricedCatalog:
    def test_database_prices_win_over_the_catalog_table(self) -> None:
        priced = price_catalog(
            _shipped_catalog(),
            database={"openai/gpt-4o": {"input": 1.0, "output": 4.0}},
            usd_per_credit=0.01,
            overrides={},
        )
        gpt4o = priced.lookup("openai", "gpt-4o")
        assert gpt4o is not None
        assert (gpt4o.pricing.input, gpt4o.pricing.output) == (1.0, 4.0)
        assert gpt4o.pricing.cached_input == 1.25  # kept from the catalog
        assert gpt4o.price_source == "genai-prices"
        mini = priced.lookup("openai", "gpt-4o-mini")
        assert mini is not None
        assert mini.price_source == "catalog"

    def test_pinned_entries_ignore_the_database(self) -> None:
        priced = price_catalog(
            _shipped_catalog(),
            database={"openai/gpt-4": {"input": 30.0, "output": 60.0}},
            usd_per_credit=0.01,
            overrides={},
        )
        gpt4 = priced.lookup("openai", "gpt-4")
        assert gpt4 is not None
        assert (gpt4.pricing.input, gpt4.pricing.output) == (10.0, 30.0)

    def test_superduperai_credits_are_priced_by_the_setting(self) -> None:
        priced = price_catalog(
            _shipped_catalog(), database={}, usd_per_credit=0.05, overrides={}
        )
        imagen = priced.lookup("superduperai", "google-cloud/imagen4")
        assert imagen is not None
        assert imagen.pricing.credits_per_image == 2.0
        assert imagen.pricing.per_image == pytest.approx(0.1)
        veo = priced.lookup("superduperai", "google-cloud/veo3")
        assert veo is not None
        assert veo.pricing.per_second == pytest.approx(0.15)

    def test_overrides_win_over_everything(self) -> None:
        priced = price_catalog(
            _shipped_catalog(),
            database={"openai/gpt-4o": {"input": 1.0, "output": 4.0}},
            usd_per_credit=0.01,
            overrides={
                "openai/gpt-4o": {"input": 0.5},
                "superduperai/google-cloud/imagen4": {"per_image": 0.03},
            },
        )
        gpt4o = priced.lookup("openai", "gpt-4o")
        assert gpt4o is not None
        assert (gpt4o.pricing.input, gpt4o.pricing.output) == (0.5, 4.0)
        assert gpt4o.price_source == "override"
        imagen = priced.lookup("superduperai", "imagen4")  # aliases follow
        assert imagen is not None
        assert imagen.pricing.per_image == 0.03

    def test_an_override_with_an_unknown_key_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            price_catalog(
                _shipped_catalog(),
                database={},
                usd_per_credit=0.01,
                overrides={"openai/gpt-4o": {"per_token": 1.0}},
            )


def test_the_loaded_catalog_says_where_each_price_comes_from() -> None:
    catalog = load_catalog()
    sources = {info.price_source for info in catalog.models}
    assert sources == {"genai-prices", "catalog"}
    assert _entry("openai", "gpt-4o").price_source == "genai-prices"
    assert _entry("qwen", "qwen-max").price_source == "catalog"
