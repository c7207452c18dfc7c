"""Serving the web app's build (``aihub/web/dist``) at ``/``, same origin as the API.

- ``/assets/*``: Vite's hashed files, cached for a year (``immutable``) and sent
  gzip-compressed when the browser accepts it (compressed once, kept in memory);
- ``/`` and client routes (``/c/12``, ``/prompts``...): ``index.html``, ``no-cache``;
- other files at the top of the build (``favicon.svg``...): served, cached an hour.

Nothing here runs for a path the API answers: the assets are a mount placed
after every API route, and the client-route fallback is the router's *default*
handler, reached only when no route matched at all (so a wrong method on an API
path still answers 405, and unknown ``/api/...``, ``/v1/...``, ``/ws``... paths
answer the JSON 404 of their documented error shape). Without a build, ``/``
says how to get the app (a page for browsers, JSON otherwise).
"""

from __future__ import annotations

import asyncio
import gzip
import re
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from aihub import __version__

log = structlog.get_logger(__name__)

DIST = Path(__file__).resolve().parent / "dist"
ASSET_CACHE = "public, max-age=31536000, immutable"
TOP_FILE_CACHE = "public, max-age=3600"
HOW_TO_BUILD = (
    "the web app is not built: run `make web` (needs Node 20+; `make run` does it "
    "too), or `npm ci && npm run build` in web/; the API is served meanwhile"
)
# Paths that belong to the API (or its docs): never answered with index.html.
API_PREFIXES: tuple[str, ...] = ("/api", "/v1", "/ws", "/health", "/ready")
API_PREFIXES += ("/metrics", "/docs", "/redoc", "/openapi.json", "/assets")
_TOP_FILE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg")
_MIN_GZIP_BYTES = 1024


def is_built(dist: Path = DIST) -> bool:
    return (dist / "index.html").is_file()


def _is_api_path(path: str) -> bool:
    for prefix in API_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return True
    return False


def _accepts(scope: Scope, media: bytes) -> bool:
    for key, value in scope["headers"]:
        if key == b"accept":
            return media in value
    return False


class AssetFiles(StaticFiles):
    """Hashed build assets: a year of caching, gzip when accepted."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)
        self._gzipped: dict[tuple[str, float, int], bytes] = {}

    async def check_config(self) -> None:
        """No build (yet) is not an error: every asset is then a 404."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = ASSET_CACHE
        if not isinstance(response, FileResponse) or response.status_code != 200:
            return response
        media_type = response.media_type or ""
        headers = Headers(scope=scope)
        if (
            "gzip" not in headers.get("accept-encoding", "")
            or not media_type.startswith(_COMPRESSIBLE)
            or "range" in headers
        ):
            return response
        stat = response.stat_result
        if stat is None or stat.st_size < _MIN_GZIP_BYTES:
            return response
        key = (str(response.path), stat.st_mtime, stat.st_size)
        body = self._gzipped.get(key)
        if body is None:
            body = await asyncio.to_thread(_gzip_file, Path(response.path))
            self._gzipped[key] = body
        compressed = Response(body, media_type=media_type)
        for name in ("cache-control", "etag", "last-modified"):
            if name in response.headers:
                compressed.headers[name] = response.headers[name]
        compressed.headers["Content-Encoding"] = "gzip"
        compressed.headers["Vary"] = "Accept-Encoding"
        return compressed


def _gzip_file(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


class AppFallback:
    """The router's default handler: a client route gets ``index.html``; any
    other unmatched request goes on to the router's usual 404 (JSON, in the
    error shape of its path)."""

    def __init__(self, not_found: ASGIApp, dist: Path) -> None:
        self.not_found = not_found
        self.dist = dist

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            response = self._response(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.not_found(scope, receive, send)

    def _response(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        if _is_api_path(path):
            return None
        if not is_built(self.dist):
            return _not_built(scope) if path == "/" else None
        name = path.lstrip("/")
        if name and _TOP_FILE.match(name) and name != "index.html":
            file = self.dist / name
            if file.is_file():
                return FileResponse(file, headers={"Cache-Control": TOP_FILE_CACHE})
        last = path.rsplit("/", 1)[-1]
        if "." in last:  # a missing file, not a client route
            return None
        return FileResponse(
            self.dist / "index.html",
            media_type="text/html",
            headers={"Cache-Control": "no-cache"},
        )


def _not_built(scope: Scope) -> Response:
    if _accepts(scope, b"text/html"):
        return HTMLResponse(_NOT_BUILT_PAGE, headers={"Cache-Control": "no-cache"})
    return JSONResponse(
        {
            "name": "aihub",
            "version": __version__,
            "web_app": "not built",
            "message": HOW_TO_BUILD,
            "docs": "/docs",
        },
        headers={"Cache-Control": "no-cache"},
    )


_NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aihub</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>aihub is running</h1>
<p>The web app is not built. Build it with <code>make web</code> (needs Node 20 or
newer; <code>make run</code> builds it too), or <code>npm ci &amp;&amp; npm run
build</code> in <code>web/</code>, then reload this page.</p>
<p>The API works meanwhile: see <a href="/docs">/docs</a> or
<a href="/redoc">/redoc</a>.</p>
</body></html>
"""


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        return
    raise HTTPException(status_code=404, detail="Not Found")


def install_web_app(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the build at ``/``; call after every API route is included."""
    app.mount("/assets", AssetFiles(dist / "assets"), name="web-assets")
    app.router.default = AppFallback(_not_found, dist)


def log_web_app_status(dist: Path = DIST, **fields: Any) -> None:
    """One line at start when the build is missing (the API still serves)."""
    if not is_built(dist):
        log.warning("web_app_not_built", message=HOW_TO_BUILD, dist=str(dist), **fields)
