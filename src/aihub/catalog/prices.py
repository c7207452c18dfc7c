"""Token prices from pydantic's genai-prices database, where it has the model.

genai-prices ships its price database inside the package (no fetch here), but
loading it costs ~30 MiB of resident memory and about a second. So a
short-lived child process (`python -m aihub.catalog.prices`) reads it once per
installed version and writes the few figures the catalog needs to a small JSON
file in the cache directory; serving processes read only that file.
(`python -m aihub.catalog.prices` reads the pairs to price as JSON on stdin.)

Per-provider mapping: aihub's provider names to genai-prices' provider ids.
Providers it does not list (Qwen, SuperDuperAI) keep the catalog's own prices,
and an entry pinned with `price_from = "catalog"` (seed 003's examples) too.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

DATABASE = "genai-prices"
PROVIDER_IDS = {
    "openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "google": "google",
    "gemini": "google",
    "bedrock": "aws",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "groq": "groq",
    "xai": "x-ai",
    "together": "together",
    "openrouter": "openrouter",
}
# genai-prices' field -> aihub's pricing key (USD per 1M tokens)
_FIELDS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cached_input",
    "cache_write_mtok": "cache_write",
}
EXPORT_TIMEOUT_S = 60.0

Prices = dict[str, dict[str, float]]
"""'provider/model id' -> {pricing key: USD per 1M tokens}."""


def database_version() -> str | None:
    try:
        return metadata.version(DATABASE)
    except metadata.PackageNotFoundError:
        return None


def cache_file(cache_dir: Path, version: str, wanted: list[tuple[str, str]]) -> Path:
    """One file per database version and set of models asked for (a catalog
    that gains a model asks again)."""
    digest = hashlib.sha256(json.dumps(sorted(wanted)).encode()).hexdigest()[:12]
    return cache_dir / f"{DATABASE}-{version}-{digest}.json"


def load_prices(cache_dir: Path, wanted: list[tuple[str, str]]) -> Prices:
    """The database's prices for `wanted` (provider, model id) pairs: read from
    the cache, or exported by a child process into it first. Empty (the
    catalog's own prices apply) when the package is missing or the export
    fails."""
    version = database_version()
    if version is None or not wanted:
        return {}
    path = cache_file(cache_dir, version, wanted)
    cached = _read(path)
    if cached is not None:
        return cached
    exported = _export_in_child(wanted)
    if exported is None:
        return {}
    _write(path, exported)
    return exported


def _read(path: Path) -> Prices | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    prices = document.get("prices") if isinstance(document, dict) else None
    return prices if isinstance(prices, dict) else None


def _write(path: Path, prices: Prices) -> None:
    """Atomically, so concurrent starts never read half a file; a cache that
    cannot be written only costs the export again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8"
        ) as handle:
            json.dump({"database": DATABASE, "prices": prices}, handle)
        os.replace(handle.name, path)
    except OSError as exc:
        log.warning("price_cache_not_written", path=str(path), error=str(exc))


def _export_in_child(wanted: list[tuple[str, str]]) -> Prices | None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "aihub.catalog.prices"],
            input=json.dumps(wanted).encode(),
            capture_output=True,
            timeout=EXPORT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("price_database_not_read", error=str(exc))
        return None
    if done.returncode != 0:
        log.warning(
            "price_database_not_read", error=done.stderr.decode()[-500:].strip()
        )
        return None
    try:
        prices = json.loads(done.stdout)
    except ValueError:
        return None
    return prices if isinstance(prices, dict) else None


def _mtok(value: Any) -> float | None:
    """A genai-prices figure as a float: a plain Decimal, or the base rate of
    tiered prices (long-context tiers are not modelled here)."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    base = getattr(value, "base", None)
    return float(base) if base is not None else None


def export(wanted: list[tuple[str, str]]) -> Prices:
    """Look each (aihub provider, model id) up in the database (imports it)."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    now = datetime.now(UTC)
    prices: Prices = {}
    for provider, model in wanted:
        provider_id = PROVIDER_IDS.get(provider)
        if provider_id is None:
            continue
        try:
            _, info = snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            continue
        found = info.get_prices(now)
        row = {
            ours: rate
            for theirs, ours in _FIELDS.items()
            if (rate := _mtok(getattr(found, theirs, None))) is not None
        }
        if "input" in row or "output" in row:
            prices[f"{provider}/{model}"] = row
    return prices


def _main() -> None:
    """stdin: a JSON list of [provider, model id]; stdout: their prices."""
    wanted = [(str(p), str(m)) for p, m in json.load(sys.stdin)]
    json.dump(export(wanted), sys.stdout)


if __name__ == "__main__":
    _main()
