"""Azure OpenAI: the OpenAI wire format at a deployment URL with an api-key header.

{base_url}/openai/deployments/{deployment}/chat/completions?api-version=...
(also /embeddings; models at /openai/models?api-version=...). The deployment
is ``settings["deployments"][model]``, else the model name itself. With
``api_version`` ``"v1"`` the newer v1 API is used instead:
{base_url}/openai/v1/chat/completions, the model (deployment) in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import aiohttp
import orjson
import yarl

from aihub.providers.base import Credentials
from aihub.providers.forward import ForwardResponse
from aihub.providers.http import DEFAULT_TIMEOUTS, Timeouts, join_url, request_json
from aihub.providers.openai import OpenAIWireAdapter, model_ids

DEFAULT_API_VERSION = "2024-10-21"
_NO_DEPLOYMENT = frozenset({"models"})
# Reasoning deployments reject max_tokens; older API versions do not know
# max_completion_tokens, so it is sent only where it is required.
_COMPLETION_TOKENS_PREFIXES = ("o1", "o3", "o4", "gpt-5")


class AzureAdapter(OpenAIWireAdapter):
    name = "azure"
    default_base_url = None
    max_tokens_field = "max_tokens"

    def base_url(self, creds: Credentials) -> str:
        base = super().base_url(creds).rstrip("/")
        return base.removesuffix("/openai")

    def headers(self, creds: Credentials) -> dict[str, str]:
        headers = super().headers(creds)
        headers.pop("Authorization", None)
        headers["api-key"] = creds.api_key
        return headers

    def deployment(self, creds: Credentials, model: str) -> str:
        deployments = creds.settings.get("deployments")
        if isinstance(deployments, dict):
            found = deployments.get(model)
            if isinstance(found, str) and found:
                return found
        return model

    def url(self, creds: Credentials, path: str, model: str | None) -> yarl.URL:
        base = self.base_url(creds)
        version = str(creds.settings.get("api_version") or DEFAULT_API_VERSION)
        path = path.lstrip("/")
        if version == "v1":
            return join_url(base, f"openai/v1/{path}")
        if path in _NO_DEPLOYMENT or model is None:
            return join_url(base, f"openai/{path}?api-version={quote(version)}")
        deployment = quote(self.deployment(creds, model), safe="")
        return join_url(
            base, f"openai/deployments/{deployment}/{path}?api-version={quote(version)}"
        )

    def tokens_field(self, creds: Credentials, model: str) -> str:
        field = creds.settings.get("max_tokens_field")
        if isinstance(field, str):
            return field
        names = (model.lower(), self.deployment(creds, model).lower())
        if any(n.startswith(_COMPLETION_TOKENS_PREFIXES) for n in names):
            return "max_completion_tokens"
        return self.max_tokens_field

    async def list_models(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        timeouts: Timeouts | None = None,
    ) -> list[str]:
        """The configured deployments' model names when there are some (the
        call is still made: it checks the key), else the resource's models."""
        data = await request_json(
            http,
            "GET",
            self.url(creds, "models", None),
            headers=self.headers(creds),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
        )
        deployments = creds.settings.get("deployments")
        if isinstance(deployments, dict) and deployments:
            return [str(name) for name in deployments]
        return model_ids(data)

    async def forward(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        path: str,
        body: bytes | None,
        *,
        stream: bool,
        model: str | None = None,
        timeouts: Timeouts | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ForwardResponse:
        if model is None and body is not None and path.strip("/") not in _NO_DEPLOYMENT:
            model = _model_in(body)
        return await super().forward(
            http,
            creds,
            path,
            body,
            stream=stream,
            model=model,
            timeouts=timeouts,
            headers=headers,
        )


def _model_in(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    model = data.get("model") if isinstance(data, dict) else None
    return model if isinstance(model, str) and model else None
