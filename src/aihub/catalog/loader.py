"""Load the catalog shipped in the package (data/models.toml) once, index it,
and resolve a (provider, model) pair to its entry.

Resolution order for `find_model(provider, model)`, case-insensitive:
1. the provider's own entries, by id or alias;
2. the same after dropping a date or "-latest"/"-preview" suffix
   (gpt-4o-2024-08-06, claude-3-opus-20240229, gpt-4-0613, qwen-max-2025-01-25);
3. the same after dropping a vendor prefix (OpenRouter's "openai/gpt-4o") and
   with dots as dashes ("claude-3.5-sonnet");
4. every other provider's entries in FALLBACK_ORDER, so a model served through
   openai_compatible, azure or a proxy is priced by its base model.
Unknown -> None: callers record cost 0 and flag the price as unknown.
`find_provider_model` stops after step 3 (what a provider itself lists).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from aihub.catalog.prices import Prices, load_prices
from aihub.catalog.schemas import CatalogEntry, ModelInfo, ModelPricing
from aihub.core.settings import get_settings

DATA_PACKAGE = "aihub.catalog"
DATA_FILE = "data/models.toml"
FALLBACK_ORDER = (
    "openai",
    "anthropic",
    "qwen",
    "gemini",
    "azure",
    "bedrock",
    "superduperai",
)
MAX_MODEL_NAME = 200
TOKEN_PRICED_KINDS = ("chat", "embedding")

_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-2024-08-06
    re.compile(r"-\d{8}$"),  # claude-3-opus-20240229
    re.compile(r"-(latest|preview)$"),  # claude-3-5-sonnet-latest
    re.compile(r"-\d{4}$"),  # gpt-4-0613, qwen-max-0428
)


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelInfo, ...]
    by_provider: dict[str, dict[str, ModelInfo]] = field(repr=False)

    def lookup(self, provider: str, name: str) -> ModelInfo | None:
        return self.by_provider.get(provider, {}).get(name)


def parse_catalog(raw: bytes) -> Catalog:
    """Validate a catalog document and index ids and aliases per provider;
    a duplicate name within one provider is an error."""
    document = tomllib.loads(raw.decode("utf-8"))
    models: list[ModelInfo] = []
    index: dict[str, dict[str, ModelInfo]] = {}
    for table in document.get("models", []):
        for info in CatalogEntry.model_validate(table).expand():
            names = index.setdefault(info.provider, {})
            for name in (info.id, *info.aliases):
                key = name.lower()
                if key in names:
                    raise ValueError(f"{info.provider}: {name!r} is listed twice")
                names[key] = info
            models.append(info)
    return Catalog(models=tuple(models), by_provider=index)


def _shipped_catalog() -> Catalog:
    raw = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_bytes()
    return parse_catalog(raw)


def catalog_price_keys() -> list[tuple[str, str]]:
    """The (provider, model id) pairs whose token prices the price database
    may give: chat and embedding models not pinned to the catalog's price."""
    return [
        (info.provider, info.id)
        for info in _shipped_catalog().models
        if info.kind in TOKEN_PRICED_KINDS and not info.pin_price
    ]


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The shipped catalog with its prices settled, once per process: the
    price database's token prices where it has the model, the catalog's own
    elsewhere, credits in dollars, then the administrator's overrides."""
    settings = get_settings()
    return price_catalog(
        _shipped_catalog(),
        database=load_prices(settings.resolved_cache_dir, catalog_price_keys()),
        usd_per_credit=settings.superduperai_usd_per_credit,
        overrides=settings.price_overrides,
    )


def price_catalog(
    catalog: Catalog,
    *,
    database: Prices,
    usd_per_credit: float,
    overrides: dict[str, dict[str, float]],
) -> Catalog:
    """`catalog` with every entry's final pricing (see load_catalog)."""
    priced = [
        _priced(info, database, usd_per_credit, overrides) for info in catalog.models
    ]
    index: dict[str, dict[str, ModelInfo]] = {}
    for info in priced:
        names = index.setdefault(info.provider, {})
        for name in (info.id, *info.aliases):
            names[name.lower()] = info
    return Catalog(models=tuple(priced), by_provider=index)


def _priced(
    info: ModelInfo,
    database: Prices,
    usd_per_credit: float,
    overrides: dict[str, dict[str, float]],
) -> ModelInfo:
    key = f"{info.provider}/{info.id}"
    update: dict[str, object] = {}
    source = "catalog"
    from_database = database.get(key)
    if from_database and info.kind in TOKEN_PRICED_KINDS and not info.pin_price:
        update |= from_database
        source = "genai-prices"
    pricing = info.pricing
    if pricing.credits_per_image is not None:
        update["per_image"] = round(pricing.credits_per_image * usd_per_credit, 6)
    if pricing.credits_per_second is not None:
        update["per_second"] = round(pricing.credits_per_second * usd_per_credit, 6)
    override = overrides.get(key) or overrides.get(key.lower())
    if override:
        update |= override
        source = "override"
    merged = ModelPricing.model_validate(pricing.model_dump() | update)
    return info.model_copy(update={"pricing": merged, "price_source": source})


def _without_suffixes(name: str) -> str:
    for _ in range(3):
        stripped = name
        for pattern in _SUFFIXES:
            stripped = pattern.sub("", stripped)
        if stripped == name:
            break
        name = stripped
    return name


def candidate_names(model: str) -> Iterator[str]:
    """The spellings of `model` to try, most specific first."""
    name = model.strip().lower()
    forms = [name, _without_suffixes(name)]
    if "/" in name:
        bare = name.split("/", 1)[1]
        forms += [bare, _without_suffixes(bare)]
    forms += [form.replace(".", "-") for form in list(forms) if "." in form]
    seen: set[str] = set()
    for form in forms:
        if form and form not in seen:
            seen.add(form)
            yield form


@lru_cache(maxsize=4096)
def find_provider_model(provider: str, model: str) -> ModelInfo | None:
    """`provider`'s own catalog entry for `model` (steps 1-3 above, no
    fallback to other providers), or None. Media validates with this."""
    if not model or len(model) > MAX_MODEL_NAME:
        return None
    catalog = load_catalog()
    provider = provider.strip().lower()
    for name in candidate_names(model):
        found = catalog.lookup(provider, name)
        if found is not None:
            return found
    return None


@lru_cache(maxsize=4096)
def find_model(provider: str, model: str) -> ModelInfo | None:
    """The catalog entry pricing `model` as served by `provider`, or None."""
    own = find_provider_model(provider, model)
    if own is not None or not model or len(model) > MAX_MODEL_NAME:
        return own
    catalog = load_catalog()
    provider = provider.strip().lower()
    names = list(candidate_names(model))
    for other in FALLBACK_ORDER:
        if other == provider:
            continue
        for name in names:
            found = catalog.lookup(other, name)
            if found is not None:
                return found
    return None
