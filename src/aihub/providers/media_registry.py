"""Provider name -> its media adapter (superduperai, openai, azure)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aihub.providers.media_base import MediaAdapter
from aihub.providers.media_openai import AZURE_IMAGES, OPENAI_IMAGES
from aihub.providers.media_superduperai import SuperDuperAIAdapter

MEDIA_ADAPTERS: Mapping[str, MediaAdapter] = MappingProxyType(
    {
        "superduperai": SuperDuperAIAdapter(),
        "openai": OPENAI_IMAGES,
        "azure": AZURE_IMAGES,
    }
)
MEDIA_PROVIDERS: tuple[str, ...] = tuple(MEDIA_ADAPTERS)


def get_media_adapter(provider: str) -> MediaAdapter | None:
    return MEDIA_ADAPTERS.get(provider)
