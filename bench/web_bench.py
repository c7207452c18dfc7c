#!/usr/bin/env python3
"""The web app in headless Chromium, measured with the browser's Performance APIs.

Starts aihub (``aihub serve`` on a fresh SQLite data dir, serving the built app)
and the fake model upstream (tests/fakes) as the hub's global key, makes a user,
then drives Debian's Chromium with Playwright:

1. first load of the chat screen, cold cache (``--loads`` times): the JavaScript
   transferred (gzip bodies, Resource Timing) and the time from navigation to an
   interactive chat: the composer is on screen and no long task is running;
2. a thread of ``--messages`` messages (code blocks and math in every answer),
   seeded through the API, opened cold (``--opens`` times): the time to the
   chat's ``aihub:thread-ready`` mark or after the last long task, whichever is
   later; then the list is scrolled by the mouse wheel (Playwright's input, as
   a reader scrolls: 1,500 px a step) to the top and back: the longest long
   task and the longest frame meanwhile;
3. ``--tokens`` tokens streamed at ``--rate`` tokens/s into that thread: long
   tasks during the stream, and how far the text on screen lags the SSE frames:
   an init script wraps ``fetch`` so every SSE frame's arrival is timed, and the
   chat marks ``aihub:delta-painted`` (with the text length) once React has
   written the streamed text to the DOM; a frame's lag is the time from its
   arrival to the first such mark showing its text.

    .venv/bin/python bench/web_bench.py            # or: make bench-web
    .venv/bin/python bench/web_bench.py --loads 3 --opens 2 --json out.json

Goals (issue 13): chat JS <= 300 KB gzip, interactive <= 1 s; the 500-message
thread interactive <= 1 s, scrolling with no long task > 50 ms; streaming with
no long task > 50 ms and a p95 lag <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fakes.upstream import FakeUpstream, Reply  # noqa: E402

DIST = ROOT / "src" / "aihub" / "web" / "dist"
CHROMIUM = os.environ.get("AIHUB_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GLOBAL_KEY = "sk-bench-global"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "bench-admin-password-1"  # noqa: S105  a throwaway hub
COMPOSER = "#chat-input"

# Installed before any script of the page: long tasks, frame gaps, marks, and
# the arrival of every SSE frame (fetch's body wrapped, the app sees the same).
INSTRUMENT = r"""
(() => {
  const b = (window.__bench = {
    longtasks: [], marks: [], frames: [], streamDone: false, streamStart: null,
    composerAt: null, gapMax: 0, gapOn: false,
  });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        b.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.name === "aihub:delta-painted")
        b.marks.push({ t: e.startTime, chars: (e.detail && e.detail.chars) || 0 });
  }).observe({ type: "mark", buffered: true });
  let last = null;
  const tick = (now) => {
    if (b.gapOn && last !== null) b.gapMax = Math.max(b.gapMax, now - last);
    last = now;
    if (b.composerAt === null) {
      const el = document.querySelector("__COMPOSER__");
      if (el && !el.disabled && el.offsetParent !== null) b.composerAt = now;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const realFetch = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await realFetch(...args);
    const type = response.headers.get("content-type") || "";
    if (!type.startsWith("text/event-stream") || !response.body) return response;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", chars = 0;
    b.streamDone = false;
    b.streamStart = performance.now();
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) { b.streamDone = true; controller.close(); return; }
        const now = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (event === "delta" && data) {
            try { chars += (JSON.parse(data).content || "").length; } catch (e) {}
            b.frames.push({ t: now, chars });
          }
        }
        controller.enqueue(value);
      },
      cancel(reason) { b.streamDone = true; return reader.cancel(reason); },
    });
    return new Response(body, {
      status: response.status, statusText: response.statusText,
      headers: response.headers,
    });
  };
})();
""".replace("__COMPOSER__", COMPOSER)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Server:
    """``aihub serve`` in a subprocess on a fresh SQLite data dir."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "AIHUB_DATA_DIR": str(workdir / "data"),
            "AIHUB_PORT": str(self.port),
            "AIHUB_LOG_LEVEL": "WARNING",
            "AIHUB_ADMIN_EMAIL": ADMIN_EMAIL,
            "AIHUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AIHUB_KEY_PROBE_INTERVAL_S": "3600",
        }
        for name in ("AIHUB_DATABASE_URL", "AIHUB_REDIS_URL"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aihub", "serve"], env=env, cwd=ROOT
        )

    def wait(self) -> None:
        for _ in range(300):
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("aihub did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.url}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


def provision(http: httpx.Client, upstream: FakeUpstream) -> str:
    """The fake upstream as a global key; a fresh user; that user's token."""
    login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    admin = _ok(http.post("/api/auth/login", json=login))["access_token"]
    _ok(
        http.post(
            "/api/admin/api-keys/",
            headers={"Authorization": f"Bearer {admin}"},
            json={
                "provider": "openai",
                "api_key": GLOBAL_KEY,
                "name": "fake upstream",
                "base_url": upstream.base_url("openai"),
            },
        )
    )
    user = {
        "email": "bench@example.com",
        "username": "bench",
        "password": "bench-pw-12345",
    }
    _ok(http.post("/api/users/", json=user))
    token: str = _ok(
        http.post(
            "/api/auth/login",
            json={"email": user["email"], "password": user["password"]},
        )
    )["access_token"]
    return token


def answer_text(n: int) -> str:
    return (
        f"Answer {n}: the integral $\\int_0^1 x^{n % 7 + 1}\\,dx = "
        f"\\frac{{1}}{{{n % 7 + 2}}}$ and a helper.\n\n"
        "```python\n"
        f"def step_{n}(values: list[int]) -> int:\n"
        "    total = 0\n"
        "    for value in values:\n"
        f"        total += value * {n}\n"
        "    return total\n"
        "```\n\n"
        f"$$\\sum_{{k=1}}^{{{n}}} k = \\frac{{{n}({n}+1)}}{{2}}$$\n\n"
        f"- point one of {n}\n- point **two**, with `code`\n"
    )


def seed_thread(http: httpx.Client, token: str, messages: int) -> int:
    auth = {"Authorization": f"Bearer {token}"}
    thread = _ok(
        http.post(
            "/api/threads/",
            headers=auth,
            json={"title": "Long thread", "provider": "openai", "model": "gpt-4o-mini"},
        )
    )
    for i in range(messages):
        role = "user" if i % 2 == 0 else "assistant"
        content = (
            f"Question {i}: how do I sum step {i}?"
            if role == "user"
            else answer_text(i)
        )
        body: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant":
            body |= {"provider": "openai", "model": "gpt-4o-mini", "tokens": 120}
        _ok(http.post(f"/api/threads/{thread['id']}/messages", headers=auth, json=body))
    return int(thread["id"])


def streamed_text(tokens: int) -> tuple[str, int]:
    """A markdown answer of ``tokens`` word-tokens (paragraphs, a code block)."""
    words: list[str] = []
    for i in range(tokens):
        if i and i % 60 == 0:
            words.append("\n\n")
        if i == tokens // 2:
            words.append("\n\n```python\nprint('halfway')\n```\n\n")
        words.append(f"word{i} ")
    return "".join(words), len(words)


def new_page(browser: Browser, base: str, token: str) -> Page:
    context = browser.new_context(
        base_url=base,
        viewport={"width": 1280, "height": 800},
        storage_state={
            "cookies": [],
            "origins": [
                {
                    "origin": base,
                    "localStorage": [{"name": "aihub.token", "value": token}],
                }
            ],
        },
    )
    context.add_init_script(INSTRUMENT)
    return context.new_page()


def _interactive_at(page: Page, ready: float) -> float:
    """``ready``, or the end of a long task still running then (main thread busy)."""
    tasks = page.evaluate("() => window.__bench.longtasks")
    end = ready
    for task in tasks:
        if task["start"] <= end:
            end = max(end, task["start"] + task["duration"])
    return float(end)


def first_load(browser: Browser, base: str, token: str) -> dict[str, Any]:
    page = new_page(browser, base, token)
    page.goto("/")
    page.wait_for_function("() => window.__bench.composerAt !== null", timeout=30_000)
    page.wait_for_timeout(500)  # lazy chunks the screen asks for right away
    ready = page.evaluate("() => window.__bench.composerAt")
    scripts = page.evaluate(
        """() => performance.getEntriesByType("resource")
              .filter((e) => new URL(e.name).pathname.endsWith(".js"))
              .map((e) => ({name: e.name, encoded: e.encodedBodySize,
                            decoded: e.decodedBodySize, transfer: e.transferSize}))"""
    )
    nav = page.evaluate(
        """() => { const n = performance.getEntriesByType("navigation")[0];
                   return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"""
    )
    tasks = page.evaluate("() => window.__bench.longtasks")
    result = {
        "js_gzip_kb": sum(s["encoded"] for s in scripts) / 1024,
        "js_raw_kb": sum(s["decoded"] for s in scripts) / 1024,
        "js_files": len(scripts),
        "composer_ms": ready,
        "interactive_ms": _interactive_at(page, ready),
        "dcl_ms": nav["dcl"],
        "longest_task_ms": max((t["duration"] for t in tasks), default=0.0),
    }
    page.context.close()
    return result


FIND_SCROLLER = """() => {
  const candidates = [...document.querySelectorAll("*")].filter((el) => {
    const style = getComputedStyle(el);
    return /(auto|scroll)/.test(style.overflowY)
      && el.scrollHeight > el.clientHeight + 50;
  });
  candidates.sort((a, b) => b.scrollHeight - a.scrollHeight);
  const el = candidates[0];
  if (!el) return null;
  el.setAttribute("data-bench-scroller", "");
  const r = el.getBoundingClientRect();
  return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
}"""
SCROLLER = "document.querySelector('[data-bench-scroller]')"


def open_thread(browser: Browser, base: str, token: str, thread_id: int) -> Page:
    page = new_page(browser, base, token)
    page.goto(f"/c/{thread_id}")
    page.wait_for_function(
        "() => performance.getEntriesByName('aihub:thread-ready').length > 0",
        timeout=60_000,
    )
    page.wait_for_function("() => window.__bench.composerAt !== null", timeout=30_000)
    return page


def big_thread(
    browser: Browser, base: str, token: str, thread_id: int
) -> dict[str, Any]:
    page = open_thread(browser, base, token, thread_id)
    page.wait_for_timeout(300)
    ready = page.evaluate(
        "() => performance.getEntriesByName('aihub:thread-ready')[0].startTime"
    )
    tasks = page.evaluate("() => window.__bench.longtasks")
    result = {
        "ready_ms": ready,
        "interactive_ms": _interactive_at(page, ready),
        "longest_task_ms": max((t["duration"] for t in tasks), default=0.0),
        "rows_in_dom": page.evaluate(
            "() => document.querySelectorAll('[data-index]').length"
        ),
    }
    page.context.close()
    return result


def scroll_thread(page: Page, step_px: int = 1500) -> dict[str, Any]:
    """Mouse-wheel the message list to the top and back (a reader's scroll:
    the chat un-pins from the bottom on wheel input, not on scrollTop)."""
    centre = page.evaluate(FIND_SCROLLER)
    if centre is None:
        raise RuntimeError("no scrollable message list")
    page.mouse.move(centre["x"], centre["y"])
    page.evaluate(
        "() => { const b = window.__bench; b.gapMax = 0; b.gapOn = true;"
        " b.scrollStart = performance.now(); }"
    )
    height = page.evaluate(f"() => {SCROLLER}.scrollHeight")
    for steps_up in range(1, 2000):
        page.mouse.wheel(0, -step_px)
        if steps_up % 4 == 0 and page.evaluate(f"() => {SCROLLER}.scrollTop") <= 0:
            break
    page.wait_for_timeout(200)
    top_text = page.evaluate(f"() => {SCROLLER}.innerText.slice(0, 60)")
    at_bottom = (
        f"() => {{ const el = {SCROLLER};"
        " return el.scrollTop + el.clientHeight >= el.scrollHeight - 4; }"
    )
    for steps_down in range(1, 2000):
        page.mouse.wheel(0, step_px)
        if steps_down % 4 == 0 and page.evaluate(at_bottom):
            break
    page.wait_for_timeout(300)
    result: dict[str, Any] = page.evaluate(
        """() => { const b = window.__bench; b.gapOn = false;
          const tasks = b.longtasks.filter((t) => t.start >= b.scrollStart);
          return { longest_task_ms: Math.max(0, ...tasks.map((t) => t.duration)),
                   long_tasks: tasks.length, longest_frame_ms: b.gapMax,
                   duration_ms: performance.now() - b.scrollStart,
                   tasks: tasks.map((t) => [Math.round(t.start - b.scrollStart),
                                            Math.round(t.duration)]) }; }"""
    )
    result |= {
        "scroll_height": height,
        "top_text": top_text,
        "wheel_steps": steps_up + steps_down,
    }
    return result


def stream_into(
    page: Page, upstream: FakeUpstream, tokens: int, rate: float
) -> dict[str, Any]:
    text, chunks = streamed_text(tokens)
    upstream.script(
        GLOBAL_KEY, [Reply(text=text, chunks=chunks, chunk_delay=1.0 / rate)]
    )
    page.evaluate("() => { window.__bench.marks = []; window.__bench.frames = []; }")
    composer = page.locator(COMPOSER)
    composer.fill("Tell me a long story, please.")
    page.get_by_role("button", name="Send message").click()
    page.wait_for_function(
        "() => window.__bench.streamStart !== null && window.__bench.streamDone",
        timeout=int(tokens / rate * 1000 * 3 + 60_000),
    )
    page.wait_for_timeout(500)
    data = page.evaluate(
        """() => ({frames: window.__bench.frames, marks: window.__bench.marks,
                   start: window.__bench.streamStart,
                   tasks: window.__bench.longtasks})"""
    )
    frames, marks = data["frames"], sorted(data["marks"], key=lambda m: m["t"])
    lags: list[float] = []
    unpainted = 0
    at = 0
    for frame in frames:
        while at < len(marks) and (
            marks[at]["chars"] < frame["chars"] or marks[at]["t"] < frame["t"]
        ):
            at += 1
        if at == len(marks):
            unpainted += 1
            continue
        lags.append(marks[at]["t"] - frame["t"])
    in_stream = [t for t in data["tasks"] if t["start"] >= data["start"]]
    duration_s = (frames[-1]["t"] - frames[0]["t"]) / 1000 if len(frames) > 1 else 0.0
    return {
        "frames": len(frames),
        "paints": len(marks),
        "chars": frames[-1]["chars"] if frames else 0,
        "tokens_per_s": (len(frames) / duration_s) if duration_s else 0.0,
        "lag_p50_ms": pct(lags, 0.50),
        "lag_p95_ms": pct(lags, 0.95),
        "lag_max_ms": max(lags) if lags else None,
        "unpainted_frames": unpainted,
        "long_tasks": len(in_stream),
        "longest_task_ms": max((t["duration"] for t in in_stream), default=0.0),
        "tasks": [
            [round(t["start"] - data["start"]), round(t["duration"])] for t in in_stream
        ],
    }


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.0f}{unit}" if abs(value) >= 10 else f"{value:.1f}{unit}"
    return f"{value}{unit}"


def table(results: dict[str, Any]) -> str:
    load, thread, scroll, stream = (
        results["first_load"],
        results["thread_open"],
        results["scroll"],
        results["stream"],
    )
    rows = [
        (
            "first load: chat JS transferred (gzip)",
            _fmt(load["js_gzip_kb"], " KB"),
            "≤ 300 KB",
        ),
        ("first load: chat JS (uncompressed)", _fmt(load["js_raw_kb"], " KB"), ""),
        (
            "first load: time to interactive chat (median)",
            _fmt(load["interactive_ms"], " ms"),
            "≤ 1000 ms",
        ),
        (
            "first load: time to interactive chat (worst)",
            _fmt(load["interactive_ms_max"], " ms"),
            "",
        ),
        (
            f"{results['messages']}-message thread: interactive (median)",
            _fmt(thread["interactive_ms"], " ms"),
            "≤ 1000 ms",
        ),
        (
            f"{results['messages']}-message thread: interactive (worst)",
            _fmt(thread["interactive_ms_max"], " ms"),
            "",
        ),
        ("thread: rows in the DOM (virtualised)", _fmt(thread["rows_in_dom"]), ""),
        (
            "scroll to top and back: longest long task",
            _fmt(scroll["longest_task_ms"], " ms"),
            "≤ 50 ms",
        ),
        (
            "scroll to top and back: longest frame",
            _fmt(scroll["longest_frame_ms"], " ms"),
            "",
        ),
        (
            f"stream {results['tokens']} tokens @ {results['rate']:.0f}/s: "
            "longest long task",
            _fmt(stream["longest_task_ms"], " ms"),
            "≤ 50 ms",
        ),
        (
            "stream: text on screen behind SSE frame, p50",
            _fmt(stream["lag_p50_ms"], " ms"),
            "",
        ),
        (
            "stream: text on screen behind SSE frame, p95",
            _fmt(stream["lag_p95_ms"], " ms"),
            "≤ 100 ms",
        ),
        (
            "stream: text on screen behind SSE frame, max",
            _fmt(stream["lag_max_ms"], " ms"),
            "",
        ),
        (
            "stream: SSE delta frames / DOM updates",
            f"{stream['frames']} / {stream['paints']}",
            "",
        ),
        ("stream: measured rate", _fmt(stream["tokens_per_s"], " tokens/s"), ""),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [
        f"| {'measure'.ljust(width)} | result | goal |",
        f"|{'-' * (width + 2)}|---|---|",
    ]
    lines += [
        f"| {name.ljust(width)} | {value} | {goal} |" for name, value, goal in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="tokens per second")
    parser.add_argument("--loads", type=int, default=5, help="cold first loads")
    parser.add_argument("--opens", type=int, default=3, help="cold opens of the thread")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "bench/results/web-latest.json"
    )
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        sys.exit(f"the web app is not built ({DIST}): run `make web`")

    upstream = FakeUpstream()
    upstream.start()
    with tempfile.TemporaryDirectory(prefix="aihub-web-bench-") as tmp:
        server = Server(Path(tmp))
        try:
            server.wait()
            http = httpx.Client(base_url=server.url, timeout=30)
            token = provision(http, upstream)
            started = time.monotonic()
            thread_id = seed_thread(http, token, args.messages)
            took = time.monotonic() - started
            sys.stdout.write(f"seeded {args.messages} messages in {took:.1f} s\n")
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                loads = [
                    first_load(browser, server.url, token) for _ in range(args.loads)
                ]
                opens = [
                    big_thread(browser, server.url, token, thread_id)
                    for _ in range(args.opens)
                ]
                page = open_thread(browser, server.url, token, thread_id)
                page.wait_for_timeout(500)
                scroll = scroll_thread(page)
                stream = stream_into(page, upstream, args.tokens, args.rate)
                page.context.close()
                browser.close()
            http.close()
        finally:
            server.stop()
            upstream.stop()

    def median(rows: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in rows))

    results = {
        "messages": args.messages,
        "tokens": args.tokens,
        "rate": args.rate,
        "first_load": {
            **loads[0],
            "interactive_ms": median(loads, "interactive_ms"),
            "interactive_ms_max": max(r["interactive_ms"] for r in loads),
            "runs": loads,
        },
        "thread_open": {
            **opens[0],
            "interactive_ms": median(opens, "interactive_ms"),
            "interactive_ms_max": max(r["interactive_ms"] for r in opens),
            "runs": opens,
        },
        "scroll": scroll,
        "stream": stream,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    sys.stdout.write(f"{table(results)}\n(details: {args.json})\n")


if __name__ == "__main__":
    main()
