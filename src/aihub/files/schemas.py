"""Files on the wire: seed 004's upload answer and a stored file's metadata."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UploadRead(BaseModel):
    """Seed 004: ``{"imageUrl": "..."}``."""

    model_config = ConfigDict(populate_by_name=True)

    image_url: str = Field(serialization_alias="imageUrl")


class StoredFileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    token: str
    url: str
    filename: str
    media_type: str
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    media_job_id: int | None
    created_at: datetime
