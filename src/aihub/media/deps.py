"""The media service's context, from the process's runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aihub.media.service import MediaContext
from aihub.runtime import RuntimeDep


def _media(runtime: RuntimeDep) -> MediaContext:
    return MediaContext(
        sessionmaker=runtime.sessionmaker,
        bus=runtime.infra.events,
        queue=runtime.media.queue,
        pool=runtime.key_pool,
        blobs=runtime.blobs,
        settings=runtime.settings,
        gateway=runtime.gateway,
        worker_seen=runtime.media.worker_seen,
    )


Media = Annotated[MediaContext, Depends(_media)]
