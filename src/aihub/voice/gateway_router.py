"""OpenAI-compatible speech on the gateway: /v1/audio/transcriptions and
/v1/audio/speech (gateway key or JWT; errors in OpenAI's shape)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from aihub.gateway.deps import GatewayCaller
from aihub.voice import speech_api
from aihub.voice.deps import Voice

router = APIRouter(prefix="/v1/audio", tags=["gateway"])

_ERROR = {"description": "OpenAI error shape: {error: {message, type, param, code}}"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    c: _ERROR for c in (400, 401, 422, 429, 502)
}


class OpenAISpeechRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200)
    input: str = Field(min_length=1, max_length=4096)
    voice: str | None = Field(default=None, max_length=100)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(default=None, max_length=4096)


@router.post(
    "/transcriptions",
    responses=_ERRORS,
    summary="Speech to text (OpenAI-compatible)",
)
async def create_transcription(
    caller: GatewayCaller,
    voice: Voice,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form(min_length=1, max_length=200)],
    language: Annotated[str | None, Form(max_length=16)] = None,
    prompt: Annotated[str | None, Form(max_length=4000)] = None,
    response_format: Annotated[
        Literal["json", "text", "verbose_json", "srt", "vtt"], Form()
    ] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
) -> Response:
    data = await file.read(speech_api.MAX_AUDIO_BYTES + 1)
    fields: dict[str, str] = {"response_format": response_format}
    for name, value in (("language", language), ("prompt", prompt)):
        if value:
            fields[name] = value
    if temperature is not None:
        fields["temperature"] = str(temperature)
    reply, headers = await speech_api.transcribe(
        voice,
        caller,
        file=data,
        filename=file.filename or "audio",
        content_type=file.content_type or "application/octet-stream",
        model=model,
        fields=fields,
    )
    if isinstance(reply, str):
        return PlainTextResponse(reply, headers=headers)
    return JSONResponse(reply, headers=headers)


@router.post("/speech", responses=_ERRORS, summary="Text to speech (OpenAI-compatible)")
async def create_speech(
    body: OpenAISpeechRequest, caller: GatewayCaller, voice: Voice
) -> StreamingResponse:
    reply = await speech_api.speak(voice, caller, body.model_dump(exclude_none=True))
    return StreamingResponse(
        reply.body, media_type=reply.media_type, headers=reply.headers
    )
