"""Catalog entries (validated from data/models.toml) and the wire shape of
GET /api/models/available (seed 003)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["chat", "embedding", "image", "video", "stt", "tts"]
Capability = Literal[
    "chat",
    "vision",
    "tools",
    "json",
    "reasoning",
    "embedding",
    "image",
    "video",
    "stt",
    "tts",
    "streaming",
]
Tokenizer = Literal["cl100k_base", "o200k_base"]
InputImage = Literal["none", "optional", "required"]
PriceSource = Literal["genai-prices", "catalog", "override"]

_SIZE = re.compile(r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$")


def _is_none(value: object) -> bool:
    return value is None


def _price() -> Any:
    """An optional non-negative price, left out of the JSON when absent."""
    return Field(default=None, ge=0, exclude_if=_is_none)


class ModelPricing(BaseModel):
    """USD per 1M tokens (input, output, cached_input, cache_write, reasoning,
    thinking_output), per image, per second or per 1M characters. Absent keys
    are left out of the JSON; see data/models.toml for the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float | None = _price()
    output: float | None = _price()
    cached_input: float | None = _price()
    cache_write: float | None = _price()
    reasoning: float | None = _price()
    thinking_output: float | None = _price()
    per_image: float | None = _price()
    per_image_by_size: dict[str, float] | None = Field(
        default=None, exclude_if=_is_none
    )
    per_second: float | None = _price()
    per_1m_characters: float | None = _price()
    credits_per_image: float | None = _price()
    """For a provider that bills in its own credits (SuperDuperAI): `per_image`
    is then these credits at `AIHUB_SUPERDUPERAI_USD_PER_CREDIT`."""
    credits_per_second: float | None = _price()

    @property
    def has_token_prices(self) -> bool:
        return self.input is not None or self.output is not None


class IntRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value <= self.max


class MediaAccepts(BaseModel):
    """What a media model accepts: listed sizes ("WxH") or width/height ranges,
    how many outputs per request, video durations in seconds, qualities, and
    whether an input image (editing, image-to-video) is allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sizes: tuple[str, ...] | None = Field(default=None, exclude_if=_is_none)
    width: IntRange | None = Field(default=None, exclude_if=_is_none)
    height: IntRange | None = Field(default=None, exclude_if=_is_none)
    count: IntRange = IntRange(min=1, max=1)
    duration: IntRange | None = Field(default=None, exclude_if=_is_none)
    qualities: tuple[str, ...] | None = Field(default=None, exclude_if=_is_none)
    input_image: InputImage = "none"

    @field_validator("sizes")
    @classmethod
    def _sizes_are_wxh(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for size in value or ():
            if not _SIZE.match(size):
                raise ValueError(f"size {size!r} is not WxH")
        return value


class ModelInfo(BaseModel):
    """One catalog row: a model as served by one provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    id: str
    upstream_id: str | None = None
    name: str
    description: str = ""
    kind: Kind
    max_tokens: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    tokenizer: Tokenizer | None = None
    capabilities: tuple[Capability, ...]
    aliases: tuple[str, ...] = ()
    pricing: ModelPricing
    accepts: MediaAccepts | None = None
    pin_price: bool = False
    """Keep the catalog's price even where the price database has the model."""
    price_source: PriceSource = "catalog"
    """Where `pricing` comes from (settled when the catalog is loaded)."""

    @property
    def api_model(self) -> str:
        """The model name to send upstream."""
        return self.upstream_id or self.id


class CatalogEntry(BaseModel):
    """One [[models]] table of data/models.toml (several providers allowed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    providers: tuple[str, ...] = Field(min_length=1)
    id: str = Field(min_length=1)
    upstream_id: str | None = None
    name: str = Field(min_length=1)
    description: str = ""
    kind: Kind
    max_tokens: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    tokenizer: Tokenizer | None = None
    capabilities: tuple[Capability, ...] = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    pricing: ModelPricing
    accepts: MediaAccepts | None = None
    pin_price: bool = False

    def expand(self) -> list[ModelInfo]:
        fields = self.model_dump(exclude={"providers"})
        return [ModelInfo(provider=p, **fields) for p in self.providers]


class AvailablePricing(ModelPricing):
    """`pricing` on the wire: the seed's `input` and `output` (USD per 1M
    tokens) are always there: 0 for a priced model that charges nothing per
    token (an image or video model), null only when aihub knows no price (a
    discovered model); other units (per image, per second, per 1M characters)
    are extra keys beside them."""

    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)

    @classmethod
    def of(cls, pricing: ModelPricing | None) -> AvailablePricing:
        if pricing is None:
            return cls()
        fields = pricing.model_dump(exclude_none=True)
        fields.setdefault("input", 0.0)
        fields.setdefault("output", 0.0)
        return cls(**fields)


class AvailableModel(BaseModel):
    """One model of GET /api/models/available. The seed's keys come first;
    `pricing.input`/`output` are null for a discovered model whose price aihub
    does not know (its cost is then recorded as 0 and flagged)."""

    model_config = ConfigDict(from_attributes=True)

    provider: str
    id: str
    name: str
    description: str
    max_tokens: int | None
    pricing: AvailablePricing
    capabilities: list[str]
    kind: Kind = "chat"
    max_output_tokens: int | None = Field(default=None, exclude_if=_is_none)
    accepts: MediaAccepts | None = Field(default=None, exclude_if=_is_none)
    source: Literal["catalog", "discovered"] = "catalog"
    price_source: PriceSource | None = Field(default=None, exclude_if=_is_none)
    """genai-prices (the price database), catalog (aihub's own table) or
    override (AIHUB_PRICE_OVERRIDES); absent when the price is unknown."""


class AvailableModelList(BaseModel):
    models: list[AvailableModel]


class TokenCountRequest(BaseModel):
    """Body of POST /api/threads/token-count (seed 003)."""

    provider: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=1_000_000)


class TokenCountRead(BaseModel):
    """Answer of POST /api/threads/token-count: {"token_count", "estimated"}."""

    token_count: int
    estimated: bool
