"""Media jobs on the wire: the job API under /api/media and OpenAI's
/v1/images/generations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MediaKind = Literal["image", "video"]
MediaProvider = Literal["superduperai", "openai", "azure"]
PriorityName = Literal["interactive", "normal", "batch"]
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class MediaJobCreate(BaseModel):
    """POST /api/media/jobs. ``size`` ("1024x1024") or ``width`` and ``height``;
    ``duration`` (seconds) for video; ``input_image`` is an ``imageUrl`` from
    POST /api/files/upload (editing, image-to-video)."""

    model_config = ConfigDict(extra="forbid")

    kind: MediaKind
    provider: MediaProvider
    model: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=32000)
    count: int = Field(default=1, ge=1, le=10)
    width: int | None = Field(default=None, ge=16, le=8192)
    height: int | None = Field(default=None, ge=16, le=8192)
    size: str | None = Field(default=None, max_length=20)
    duration: int | None = Field(default=None, ge=1, le=600)
    quality: str | None = Field(default=None, max_length=32)
    input_image: str | None = Field(default=None, max_length=2000)
    priority: PriorityName = "normal"


class ArtifactRead(BaseModel):
    url: str
    media_type: str
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None


class MediaJobRead(BaseModel):
    id: int
    kind: MediaKind
    provider: str
    model: str
    prompt: str
    status: JobStatus
    priority: PriorityName
    percent: float
    stage: str | None
    count: int
    width: int | None
    height: int | None
    duration: int | None
    quality: str | None
    input_image: str | None
    attempts: int
    error_type: str | None
    error_message: str | None
    cost: float
    artifacts: list[ArtifactRead]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class MediaJobSubmitted(MediaJobRead):
    """The job as submitted; ``warning`` says when no media worker has been
    seen (the job then waits in the queue)."""

    warning: str | None = None


class OpenAIImageRequest(BaseModel):
    """OpenAI's images.generate body; ``provider`` is aihub's extension (else
    the provider is the one whose catalog has the model and a key of yours)."""

    model_config = ConfigDict(extra="allow")

    prompt: str = Field(min_length=1, max_length=32000)
    model: str = Field(default="dall-e-3", min_length=1, max_length=200)
    n: int = Field(default=1, ge=1, le=10)
    size: str | None = Field(default=None, max_length=20)
    quality: str | None = Field(default=None, max_length=32)
    response_format: Literal["url", "b64_json"] | None = None
    style: str | None = Field(default=None, max_length=32)
    user: str | None = Field(default=None, max_length=256)
    provider: MediaProvider | None = None


class OpenAIImage(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class OpenAIImagesResponse(BaseModel):
    created: int
    data: list[OpenAIImage]

    def to_wire(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "data": [item.model_dump(exclude_none=True) for item in self.data],
        }
