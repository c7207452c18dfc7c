"""The end-to-end harness: Debian's Chromium (driven by Python Playwright, sync
API) against a live aihub on 127.0.0.1 serving the built web app, with the fake
upstream as the hub's global provider key.

Fixtures (names fixed by the web contract):

- ``web_server``: the live aihub (one per test session and xdist worker): SQLite
  in a temp dir, no Redis, an admin, the fake upstream as a global OpenAI key.
  ``web_server.url``, ``web_server.admin`` (an ``Account``),
  ``web_server.api(method, path, account, json=...)`` and
  ``web_server.new_user()`` make test data the way a person would: via the API.
- ``page``: a page in a fresh browser context (base URL = the server; nobody
  signed in). Uncaught errors in the page fail the test.
- ``web_user`` / ``signed_in_page``: a fresh normal user, and a page whose
  context starts signed in as that user (token in localStorage ``aihub.token``),
  opened at ``/``. ``web_admin`` / ``admin_page``: the same for the admin.
- ``fake_llm``: scripts the answers of the global key (fixed schedules).
- ``axe(page)``: runs axe-core; fails on serious or critical violations.
- ``shot(page, name)``: saves ``docs/screenshots/<name>.png``.

Every test under tests/e2e is marked ``e2e``. Without a build
(src/aihub/web/dist) they fail, loudly, saying how to build it: they are never
skipped. Deselect them explicitly with ``-m "not e2e"``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    sync_playwright,
)
from pydantic import SecretStr

import aihub.web
from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.migrate import upgrade
from tests.conftest import LiveServer
from tests.factories import Account
from tests.fakes.upstream import FakeUpstream, RecordedRequest, Reply

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
DIST = Path(aihub.web.__file__).resolve().parent / "dist"
AXE_JS = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("AIHUB_SCREENSHOTS_DIR", ROOT / "docs/screenshots"))
CHROMIUM = os.environ.get("AIHUB_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-admin-password-1"
USER_PASSWORD = "e2e-user-password-1"
GLOBAL_KEY = "sk-e2e-global"
"""The secret of the hub's global OpenAI key (reaching the fake upstream);
``fake_llm`` scripts the answers given to this key."""
TOKEN_KEY = "aihub.token"
T = TypeVar("T")

_users = itertools.count(1)


# -- marking and the build --------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def _need_build() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail(
            f"the web app is not built ({DIST}/index.html is missing): run "
            "`make web` (npm ci && npm run build in web/), or deselect the "
            'browser tests with -m "not e2e"',
            pytrace=False,
        )
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (Debian) "
            "or set AIHUB_E2E_CHROMIUM",
            pytrace=False,
        )


# -- the live hub -------------------------------------------------------------------


@dataclass
class WebServer:
    url: str
    settings: Settings
    upstream: FakeUpstream
    admin: Account
    global_key_id: int
    http: httpx.Client = field(repr=False)

    def api(
        self,
        method: str,
        path: str,
        account: Account | None = None,
        *,
        expect: int | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One API call (as ``account`` when given); ``expect``: the status
        code it must answer (checked, with the body in the message)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if account is not None:
            headers["Authorization"] = f"Bearer {account.token}"
        response = self.http.request(method, path, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {path}: {response.status_code} {response.text}"
            )
        return response

    def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Runs ``work()`` (a coroutine, e.g. seeding the database through the
        app's own services) to the end in a thread of its own: the test's
        thread has Playwright's loop marked as running."""
        results: list[T] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                results.append(asyncio.run(work()))
            except BaseException as exc:  # handed to the caller
                errors.append(exc)

        thread = threading.Thread(target=target, name="e2e-seed")
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return results[0]

    def new_thread(self, account: Account, title: str, **fields: Any) -> int:
        """A thread of ``account`` on the fake upstream's gpt-4o-mini."""
        body = {"title": title, "provider": "openai", "model": "gpt-4o-mini", **fields}
        thread = self.api("POST", "/api/threads/", account, json=body, expect=201)
        return int(thread.json()["id"])

    def add_global_key(self) -> None:
        """The fake upstream as the hub's global OpenAI key (GLOBAL_KEY)."""
        created = self.api(
            "POST",
            "/api/admin/api-keys/",
            self.admin,
            json={
                "provider": "openai",
                "api_key": GLOBAL_KEY,
                "name": "fake upstream",
                "base_url": self.upstream.base_url("openai"),
            },
            expect=201,
        )
        self.global_key_id = created.json()["id"]

    def login(self, email: str, password: str) -> str:
        response = self.api(
            "POST",
            "/api/auth/login",
            json={"email": email, "password": password},
            expect=200,
        )
        token: str = response.json()["access_token"]
        return token

    def new_user(self, **fields: Any) -> Account:
        """A fresh normal user, registered through the API and signed in."""
        n = next(_users)
        body = {
            "email": f"e2e{n}-{os.getpid()}@example.com",
            "username": f"e2e{n}x{os.getpid()}",
            "password": USER_PASSWORD,
            **fields,
        }
        user = self.api("POST", "/api/users/", json=body, expect=201).json()
        token = self.login(body["email"], body["password"])
        return Account(
            user["id"], body["email"], body["username"], body["password"], token
        )


@pytest.fixture(scope="session")
def web_server(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream_server: FakeUpstream
) -> Iterator[WebServer]:
    _need_build()
    data_dir = tmp_path_factory.mktemp("e2e-data")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'aihub.db'}"
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=None,
        secret_key=SecretStr("e2e-secret-key-that-is-long-enough-for-hs256"),
        admin_email=ADMIN_EMAIL,
        admin_password=SecretStr(ADMIN_PASSWORD),
        open_registration=True,
        cors_origins=[],
        key_probe_interval_s=3600.0,
        outbound_allow=["127.0.0.1"],  # users' keys point at the loopback stand-in
        log_format="console",
        log_level="WARNING",
    )
    upgrade(database_url)
    server = LiveServer(create_app(settings))
    server.start()
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        token = _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        me = http.get("/api/users/me", headers=_bearer(token)).json()
        admin = Account(me["id"], ADMIN_EMAIL, me["username"], ADMIN_PASSWORD, token)
        created = http.post(
            "/api/admin/api-keys/",
            headers=_bearer(token),
            json={
                "provider": "openai",
                "api_key": GLOBAL_KEY,
                "name": "fake upstream",
                "base_url": fake_upstream_server.base_url("openai"),
            },
        )
        assert created.status_code == 201, created.text
        yield WebServer(
            url=server.url,
            settings=settings,
            upstream=fake_upstream_server,
            admin=admin,
            global_key_id=created.json()["id"],
            http=http,
        )
    finally:
        http.close()
        server.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(http: httpx.Client, email: str, password: str) -> str:
    response = http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def keyless_hub(web_server: WebServer) -> Iterator[WebServer]:
    """The hub without any global provider key (first run); the fake upstream's
    global key is back afterwards."""
    keys = web_server.api("GET", "/api/admin/api-keys/", web_server.admin).json()
    for key in keys:
        web_server.api(
            "DELETE", f"/api/admin/api-keys/{key['id']}", web_server.admin, expect=204
        )
    yield web_server
    keys = web_server.api("GET", "/api/admin/api-keys/", web_server.admin).json()
    if not [k for k in keys if k["provider"] == "openai"]:
        web_server.add_global_key()


# -- the fake model ------------------------------------------------------------------


class FakeLlm:
    """The answers of the hub's global key, on fixed schedules.

    ``stream(text, tokens=N, per_second=R)`` queues one answer sent as N chunks,
    one every 1/R s; ``hold(text, after=k)`` queues one that stops after k chunks
    until the returned event is set (stop / reload-and-resume tests);
    ``fail(status)`` queues an upstream error. Unscripted requests get the
    default: ``"echo: <last user text>"`` in 8 chunks, 20 ms apart."""

    def __init__(self, upstream: FakeUpstream, key: str = GLOBAL_KEY) -> None:
        self.upstream = upstream
        self.key = key
        self.default(chunks=8, per_second=50.0)

    def default(
        self, text: str | None = None, *, chunks: int = 8, per_second: float = 50.0
    ) -> None:
        reply = Reply(text=text, chunks=chunks, chunk_delay=1.0 / per_second)
        self.upstream.script(self.key, default=reply)

    def stream(
        self, text: str, *, tokens: int | None = None, per_second: float = 50.0
    ) -> None:
        chunks = tokens if tokens is not None else max(1, len(text.split()))
        self.upstream.script(
            self.key,
            [Reply(text=text, chunks=chunks, chunk_delay=1.0 / per_second)],
        )

    def hold(
        self, text: str, *, after: int = 2, chunks: int = 8, per_second: float = 50.0
    ) -> threading.Event:
        gate = threading.Event()
        reply = Reply(
            text=text,
            chunks=chunks,
            chunk_delay=1.0 / per_second,
            gate=gate,
            gate_after_chunks=after,
        )
        self.upstream.script(self.key, [reply])
        return gate

    def fail(self, status: int = 500, error_code: str | None = None) -> None:
        self.upstream.script(self.key, [Reply(status=status, error_code=error_code)])

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.upstream.requests_for(self.key)


@pytest.fixture
def fake_llm(web_server: WebServer) -> Iterator[FakeLlm]:
    web_server.upstream.reset()
    llm = FakeLlm(web_server.upstream)
    yield llm
    web_server.upstream.reset()


# -- the browser ---------------------------------------------------------------------


# Playwright's sync API marks its event loop as running in this thread while it
# is alive, so asyncio.run() (migrations, other tests' fixtures) fails meanwhile:
# the driver and the browser live per module, never beyond the e2e tests, and
# start after the live hub. Seed data with web_server.api() or web_server.run().


@pytest.fixture(scope="module")
def playwright_driver(web_server: WebServer) -> Iterator[Playwright]:
    del web_server  # started first: a missing build fails before Chromium starts
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


def _new_context(
    browser: Browser, web_server: WebServer, token: str | None
) -> BrowserContext:
    storage: Any = None
    if token is not None:
        storage = {
            "cookies": [],
            "origins": [
                {
                    "origin": web_server.url,
                    "localStorage": [{"name": TOKEN_KEY, "value": token}],
                }
            ],
        }
    context = browser.new_context(
        base_url=web_server.url,
        viewport=VIEWPORT,
        device_scale_factor=1,
        reduced_motion="reduce",
        locale="en-US",
        timezone_id="UTC",
        storage_state=storage,
    )
    context.set_default_timeout(10_000)
    return context


def _open_page(context: BrowserContext) -> tuple[Page, list[str]]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    return page, errors


ARTIFACTS = os.environ.get("AIHUB_E2E_ARTIFACTS")
"""A folder: a failed test's page is saved there (screenshot and ARIA tree)."""
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _keep_failure(request: pytest.FixtureRequest, page: Page) -> None:
    reports = request.node.stash.get(_REPORTS, {})
    if not ARTIFACTS or not any(r.failed for r in reports.values()):
        return
    folder = Path(ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    try:
        page.screenshot(path=str(folder / f"{name}.png"))
        tree = page.locator("body").aria_snapshot()
        (folder / f"{name}.txt").write_text(f"{page.url}\n{tree}\n")
    except Exception as exc:  # the page may be gone
        (folder / f"{name}.txt").write_text(f"no snapshot: {exc}\n")


def _check_page_errors(errors: list[str]) -> None:
    if errors:
        pytest.fail("uncaught errors in the page:\n  " + "\n  ".join(errors))


@pytest.fixture
def page(
    browser: Browser, web_server: WebServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = _new_context(browser, web_server, token=None)
    page, errors = _open_page(context)
    yield page
    _keep_failure(request, page)
    context.close()
    _check_page_errors(errors)


@pytest.fixture
def web_user(web_server: WebServer) -> Account:
    return web_server.new_user()


@pytest.fixture
def web_admin(web_server: WebServer) -> Account:
    return web_server.admin


@pytest.fixture
def signed_in_page(
    browser: Browser,
    web_server: WebServer,
    web_user: Account,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    context = _new_context(browser, web_server, token=web_user.token)
    page, errors = _open_page(context)
    page.goto("/")
    yield page
    _keep_failure(request, page)
    context.close()
    _check_page_errors(errors)


@pytest.fixture
def admin_page(
    browser: Browser,
    web_server: WebServer,
    web_admin: Account,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    context = _new_context(browser, web_server, token=web_admin.token)
    page, errors = _open_page(context)
    page.goto("/")
    yield page
    _keep_failure(request, page)
    context.close()
    _check_page_errors(errors)


# -- accessibility and screenshots -----------------------------------------------------

BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def run_axe(page: Page, *, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """Runs axe-core on the page; fails on serious or critical violations and
    returns every violation found (minor and moderate ones included)."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing ({AXE_JS}): run `npm ci` in web/")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    violations: list[dict[str, Any]] = page.evaluate(
        """async (exclude) => {
            const context = exclude.length ? {exclude: exclude.map((s) => [s])}
                                           : document;
            const result = await window.axe.run(context, {
                resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        exclude or [],
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [
            f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['nodes'])}"
            for v in blocking
        ]
        pytest.fail(
            f"axe-core: {len(blocking)} serious/critical violation(s) on "
            f"{page.url}:\n  " + "\n  ".join(lines),
            pytrace=False,
        )
    return violations


@pytest.fixture
def axe() -> Callable[..., list[dict[str, Any]]]:
    return run_axe


_SHOT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def save_shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Saves a screenshot as docs/screenshots/<name>.png (name: a-z, 0-9, -)."""
    assert _SHOT_NAME.match(name), f"screenshot name {name!r}: use a-z, 0-9 and -"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


@pytest.fixture
def shot() -> Callable[..., Path]:
    return save_shot
