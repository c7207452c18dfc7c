"""The media service's context, from the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from aihub.core.deps import AppSettings
from aihub.files.blobs import build_blob_store
from aihub.media.service import MediaContext


def _media(request: Request, settings: AppSettings) -> MediaContext:
    state = request.app.state
    return MediaContext(
        sessionmaker=state.sessionmaker,
        bus=state.infra.events,
        queue=state.media.queue,
        pool=state.key_pool,
        blobs=build_blob_store(settings),
        settings=settings,
        app_state=state,
    )


Media = Annotated[MediaContext, Depends(_media)]
