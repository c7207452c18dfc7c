"""aihub serves the web app's build at / (same origin as the API), the API's
unknown paths stay JSON 404s in their documented shapes, and /docs and /redoc
load their scripts from aihub itself."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from aihub.core.settings import Settings
from aihub.main import create_app

INDEX = "<!doctype html><html><body><div id='root'></div>index-marker</body></html>"
# Big enough to be compressed (the threshold is 1 KiB).
APP_JS = "export const greeting = 'hello';\n" * 200
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def web_dist(tmp_path: Path) -> Path:
    """A build as Vite writes it: index.html, hashed assets, a top-level file."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-3f9a1c2b.js").write_text(APP_JS)
    (dist / "assets" / "index-77aa01ee.css").write_text("body{margin:0}")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


@pytest.fixture
def settings(settings: Settings, web_dist: Path) -> Settings:
    return settings.model_copy(update={"web_dist_dir": web_dist})


async def test_index_is_served_at_root_without_caching(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "index-marker" in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/c/42", "/prompts", "/admin/users", "/voice/7", "/login", "/setup"]
)
async def test_client_routes_fall_back_to_index(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert "index-marker" in response.text
    assert response.headers["cache-control"] == "no-cache"


async def test_head_of_a_client_route(client: httpx.AsyncClient) -> None:
    response = await client.head("/c/42")
    assert response.status_code == 200
    assert response.content == b""


async def test_hashed_assets_are_cached_for_a_year_and_gzipped(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/assets/index-3f9a1c2b.js", headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert "javascript" in response.headers["content-type"]
    assert int(response.headers["content-length"]) < len(APP_JS) / 10
    assert response.text == APP_JS  # httpx decoded the gzip body

    again = await client.get(
        "/assets/index-3f9a1c2b.js", headers={"Accept-Encoding": "gzip"}
    )
    assert again.text == APP_JS


async def test_assets_plain_when_gzip_is_not_accepted(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/assets/index-3f9a1c2b.js", headers={"Accept-Encoding": "identity"}
    )
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.text == APP_JS
    small = await client.get("/assets/index-77aa01ee.css")
    assert small.text == "body{margin:0}"
    assert small.headers["cache-control"] == IMMUTABLE


async def test_an_unchanged_asset_answers_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/assets/index-77aa01ee.css")
    etag = first.headers["etag"]
    response = await client.get(
        "/assets/index-77aa01ee.css", headers={"If-None-Match": etag}
    )
    assert response.status_code == 304


@pytest.mark.parametrize("path", ["/assets/missing-0000.js", "/assets/../index.html"])
async def test_missing_assets_are_404_not_index(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "index-marker" not in response.text


async def test_top_level_build_files_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.text.startswith("<svg")
    assert response.headers["cache-control"] == "public, max-age=3600"
    missing = await client.get("/missing.png")
    assert missing.status_code == 404
    assert "index-marker" not in missing.text


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api", "/api/threads/1/nope", "/ws/nope", "/metrics/x"]
)
async def test_unknown_api_paths_stay_json_404(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": True,
        "error_message": "Not Found",
        "error_type": "not_found",
    }


async def test_unknown_v1_paths_stay_openai_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Not Found",
            "type": "not_found_error",
            "param": None,
            "code": "not_found",
        }
    }
    posted = await client.post("/v1/nope", json={})
    assert posted.status_code == 404
    assert posted.json()["error"]["type"] == "not_found_error"


async def test_unknown_v1_messages_path_stays_anthropic_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/messages/nope", json={})
    assert response.status_code == 404
    assert response.json() == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "Not Found"},
    }


async def test_api_routes_are_untouched(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert "index-marker" not in health.text
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/auth/login" in spec.json()["paths"]
    models = await client.get("/v1/models")
    assert models.status_code == 401
    assert models.json()["error"]["type"] == "authentication_error"
    # a known path with a wrong method still answers 405, not the app
    wrong_method = await client.delete("/api/auth/login")
    assert wrong_method.status_code == 405
    # a POST to a client route is no page request
    posted = await client.post("/c/42", json={})
    assert posted.status_code == 404
    assert "index-marker" not in posted.text


async def test_the_spec_does_not_list_the_app(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p.startswith(("/assets", "/docs", "/redoc"))]


_SCRIPT_OR_STYLE = re.compile(r"""(?:src|href)=['"]([^'"]+)['"]""")


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ["swagger-ui-bundle.js", "swagger-ui.css"]),
        ("/redoc", ["redoc.standalone.js"]),
    ],
)
async def test_docs_load_their_assets_from_aihub(
    client: httpx.AsyncClient, page: str, assets: list[str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    links = _SCRIPT_OR_STYLE.findall(response.text)
    assert links, response.text
    outside = [link for link in links if not link.startswith("/")]
    assert outside == [], f"{page} loads from outside: {outside}"
    assert "https://" not in response.text.replace("https://github.com", "")
    for name in assets:
        url = f"/docs/assets/{name}"
        assert url in links
        asset = await client.get(url)
        assert asset.status_code == 200
        assert len(asset.content) > 10_000


async def test_swagger_oauth2_redirect_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "oauth2" in response.text.lower()


class TestWithoutBuild:
    @pytest.fixture
    def web_dist(self, tmp_path: Path) -> Path:
        return tmp_path / "no-build-here"

    async def test_root_page_says_how_to_get_the_app(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/", headers={"Accept": "text/html,*/*"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "make web" in response.text
        assert 'href="/docs"' in response.text

    async def test_root_json_says_how_to_get_the_app(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/", headers={"Accept": "application/json"})
        assert response.status_code == 200
        body = response.json()
        assert body["web_app"] == "not built"
        assert "make web" in body["message"]
        assert body["docs"] == "/docs"

    async def test_client_routes_and_assets_are_404(
        self, client: httpx.AsyncClient
    ) -> None:
        for path in ("/c/42", "/assets/index-3f9a1c2b.js"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error_type"] == "not_found"

    async def test_docs_work_without_the_app(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 200


async def test_start_logs_one_line_when_the_build_is_missing(
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    app: FastAPI,  # its teardown empties the tables these apps wrote to
) -> None:
    missing = settings.model_copy(update={"web_dist_dir": tmp_path / "nothing"})
    built = settings
    for current in (missing, built):
        application = create_app(current.model_copy(update={"log_level": "INFO"}))
        async with LifespanManager(application):
            pass
    lines = [line for line in capsys.readouterr().err.splitlines() if "web_app" in line]
    assert len(lines) == 1, lines
    assert "make web" in lines[0]
    assert str(tmp_path / "nothing") in lines[0]
