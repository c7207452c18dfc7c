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

from aihub.catalog.schemas import CatalogEntry, ModelInfo

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


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The shipped catalog, read and validated once per process."""
    raw = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_bytes()
    return parse_catalog(raw)


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
