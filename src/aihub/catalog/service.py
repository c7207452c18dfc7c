"""The model catalog as other domains use it: look a model up, list the
available models (seed 003 GET /api/models/available), check a media request
against what the model accepts, and count tokens. Pure functions over the data
shipped in the package; no database.

Models discovered at an openai_compatible base_url's /models join the list:
one the catalog knows (by id, alias, or base model: "openai/gpt-4o" on
OpenRouter) is shown with the catalog's price and capabilities; an unknown one
gets `pricing: null`, `max_tokens: null` and capabilities ["chat"] (its calls
are recorded at cost 0 and flagged, never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Literal

from aihub.catalog.errors import MediaRequestInvalidError, ModelNotFoundError
from aihub.catalog.loader import MAX_MODEL_NAME, find_model, load_catalog
from aihub.catalog.schemas import (
    AvailableModel,
    AvailableModelList,
    AvailablePricing,
    Kind,
    MediaAccepts,
    ModelInfo,
)
from aihub.catalog.tokens import (
    TokenCount,
    acount_messages,
    acount_tokens,
    count_messages,
    count_tokens,
    warm_up,
)

__all__ = [
    "TokenCount",
    "acount_messages",
    "acount_tokens",
    "available_models",
    "check_media_request",
    "count_messages",
    "count_tokens",
    "find_model",
    "get_model",
    "list_models",
    "warm_up",
]

Source = Literal["catalog", "discovered"]
DISCOVERED_DESCRIPTION = "Discovered at the provider's /models endpoint"
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def get_model(provider: str, model: str) -> ModelInfo:
    """The catalog entry of (provider, model); raises ModelNotFoundError."""
    info = find_model(provider, model)
    if info is None:
        raise ModelNotFoundError(f"Unknown model {model!r} for provider {provider!r}")
    return info


def list_models(
    *, provider: str | None = None, kind: Kind | None = None
) -> list[ModelInfo]:
    """Catalog entries, optionally of one provider and/or one kind."""
    return [
        info
        for info in load_catalog().models
        if (provider is None or info.provider == provider)
        and (kind is None or info.kind == kind)
    ]


def _row(
    info: ModelInfo, *, provider: str, model_id: str, source: Source
) -> AvailableModel:
    return AvailableModel(
        provider=provider,
        id=model_id,
        name=info.name,
        description=info.description,
        max_tokens=info.max_tokens,
        pricing=AvailablePricing.of(info.pricing),
        capabilities=list(info.capabilities),
        kind=info.kind,
        max_output_tokens=info.max_output_tokens,
        accepts=info.accepts,
        source=source,
        price_source=info.price_source,
    )


def _discovered_row(provider: str, model_id: str) -> AvailableModel:
    info = find_model(provider, model_id)
    if info is not None:
        return _row(info, provider=provider, model_id=model_id, source="discovered")
    return AvailableModel(
        provider=provider,
        id=model_id,
        name=model_id,
        description=DISCOVERED_DESCRIPTION,
        max_tokens=None,
        pricing=AvailablePricing(),
        capabilities=["chat"],
        source="discovered",
    )


def available_models(
    discovered: Iterable[tuple[str, str]] = (),
    *,
    providers: Collection[str] | None = None,
    kinds: Collection[str] | None = None,
) -> AvailableModelList:
    """The catalog (optionally only `providers`), then every discovered
    (provider, model_id) pair not already listed, in the order given, keeping
    only `kinds` when given. Ids that are empty or longer than 200 characters
    are skipped."""
    rows = [
        _row(info, provider=info.provider, model_id=info.id, source="catalog")
        for info in load_catalog().models
        if providers is None or info.provider in providers
    ]
    seen = {(row.provider, row.id.lower()) for row in rows}
    for provider, model_id in discovered:
        model_id = model_id.strip()
        key = (provider, model_id.lower())
        if not model_id or len(model_id) > MAX_MODEL_NAME or key in seen:
            continue
        seen.add(key)
        rows.append(_discovered_row(provider, model_id))
    if kinds is not None:
        rows = [row for row in rows if row.kind in kinds]
    return AvailableModelList(models=rows)


def _size_problems(
    accepts: MediaAccepts, size: str | None, width: int | None, height: int | None
) -> list[str]:
    if size is not None:
        match = _SIZE.match(size.strip().lower())
        if match is None:
            return [f"size {size!r} is not WIDTHxHEIGHT"]
        width, height = int(match[1]), int(match[2])
    if width is None and height is None:
        return []
    if width is None or height is None:
        return ["width and height go together"]
    problems: list[str] = []
    if accepts.sizes is not None and f"{width}x{height}" not in accepts.sizes:
        problems.append(f"size must be one of {', '.join(accepts.sizes)}")
    for label, value, allowed in (
        ("width", width, accepts.width),
        ("height", height, accepts.height),
    ):
        if allowed is not None and value not in allowed:
            problems.append(f"{label} must be between {allowed.min} and {allowed.max}")
    return problems


def _other_problems(
    accepts: MediaAccepts,
    *,
    count: int,
    duration: int | None,
    quality: str | None,
    has_input_image: bool,
) -> list[str]:
    problems: list[str] = []
    if count not in accepts.count:
        problems.append(
            f"count must be between {accepts.count.min} and {accepts.count.max}"
        )
    if duration is not None:
        if accepts.duration is None:
            problems.append("this model takes no duration")
        elif duration not in accepts.duration:
            span = accepts.duration
            problems.append(f"duration must be {span.min} to {span.max} seconds")
    if quality is not None and quality not in (accepts.qualities or ()):
        allowed = ", ".join(accepts.qualities or ()) or "none"
        problems.append(f"quality must be one of: {allowed}")
    if has_input_image and accepts.input_image == "none":
        problems.append("this model takes no input image")
    if not has_input_image and accepts.input_image == "required":
        problems.append("this model needs an input image")
    return problems


def check_media_request(
    provider: str,
    model: str,
    *,
    kind: Kind,
    count: int = 1,
    size: str | None = None,
    width: int | None = None,
    height: int | None = None,
    duration: int | None = None,
    quality: str | None = None,
    has_input_image: bool = False,
) -> ModelInfo:
    """The media model's entry when the request fits what it accepts; raises
    MediaRequestInvalidError (422 validation_error) listing every problem."""
    info = find_model(provider, model)
    if info is None or info.kind != kind or info.accepts is None:
        raise MediaRequestInvalidError(
            f"{model!r} is not a known {kind} model of {provider!r}"
        )
    problems = _size_problems(info.accepts, size, width, height)
    problems += _other_problems(
        info.accepts,
        count=count,
        duration=duration,
        quality=quality,
        has_input_image=has_input_image,
    )
    if problems:
        raise MediaRequestInvalidError(f"{info.name}: {'; '.join(problems)}")
    return info
