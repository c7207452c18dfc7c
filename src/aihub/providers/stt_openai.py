"""OpenAI-compatible speech to text: POST {base_url}/audio/transcriptions
(multipart: ``file``, ``model``, ``language``, ``prompt``, ``response_format``).

Serves OpenAI (whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe) and any
self-hosted server speaking the same wire (faster-whisper-server, speaches,
LocalAI, vLLM...) at the key's base_url. ``forward_file`` is the gateway's
pass-through of a caller's own file, any format the upstream reads.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from aihub.providers.base import Credentials
from aihub.providers.errors import UpstreamBadRequest, UpstreamUnavailable
from aihub.providers.http import (
    DEFAULT_TIMEOUTS,
    Timeouts,
    join_url,
    raise_for_reply,
    read_json,
    translate,
)
from aihub.providers.stt_base import Pcm, SttOptions, Transcript, to_wav


def auth_headers(creds: Credentials) -> dict[str, str]:
    headers: dict[str, str] = {}
    if creds.api_key:
        headers["Authorization"] = f"Bearer {creds.api_key}"
    extra = creds.settings.get("headers")
    if isinstance(extra, Mapping):
        headers.update({str(k): str(v) for k, v in extra.items()})
    return headers


def base_url_of(creds: Credentials, default: str | None) -> str:
    base = creds.base_url or default
    if not base:
        raise UpstreamBadRequest("this speech provider needs a base_url", status=None)
    return base


class OpenAISttAdapter:
    name = "openai"
    default_base_url: str | None = "https://api.openai.com/v1"

    async def transcribe(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        audio: Pcm,
        *,
        options: SttOptions,
        timeouts: Timeouts | None = None,
    ) -> Transcript:
        data = await self.forward_file(
            http,
            creds,
            file=to_wav(audio),
            filename="audio.wav",
            content_type="audio/wav",
            fields=_fields(options, "json"),
            timeouts=timeouts,
        )
        text = data.get("text")
        if not isinstance(text, str):
            raise UpstreamUnavailable("Transcription reply without text")
        language = data.get("language")
        return Transcript(
            text=text.strip(),
            language=language if isinstance(language, str) else options.language,
            duration_s=audio.duration_s,
        )

    async def forward_file(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        *,
        file: bytes,
        filename: str,
        content_type: str,
        fields: Mapping[str, str],
        timeouts: Timeouts | None = None,
    ) -> dict[str, object]:
        """One multipart transcription call; the JSON reply (a ``text`` or
        ``srt``/``vtt`` reply is wrapped as ``{"text": ...}``)."""
        if http is None or creds is None:
            raise UpstreamBadRequest(
                "an HTTP session and a key are needed", status=None
            )
        form = aiohttp.FormData()
        for key, value in fields.items():
            form.add_field(key, value)
        form.add_field("file", file, filename=filename, content_type=content_type)
        url = join_url(
            base_url_of(creds, self.default_base_url), "audio/transcriptions"
        )
        timeout = (timeouts or DEFAULT_TIMEOUTS).complete
        try:
            async with http.post(
                url, data=form, headers=auth_headers(creds), timeout=timeout
            ) as resp:
                await raise_for_reply(resp, secret=creds.api_key)
                if resp.content_type == "application/json":
                    return await read_json(resp)
                return {"text": (await resp.read()).decode("utf-8", "replace")}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc, secret=creds.api_key) from exc


def _fields(options: SttOptions, response_format: str) -> dict[str, str]:
    fields = {"model": options.model, "response_format": response_format}
    if options.language:
        fields["language"] = options.language
    if options.prompt:
        fields["prompt"] = options.prompt
    if options.temperature is not None:
        fields["temperature"] = str(options.temperature)
    return fields
