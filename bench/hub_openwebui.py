"""Open WebUI beside aihub in the hub benchmark (bench/hub_bench.py, flow 4).

Open WebUI (PyPI `open-webui`) is installed into its own venv under
/tmp/bench-venvs (once), started pinned to CPU 1 on a fresh data dir (its
default SQLite database), offline (`OFFLINE_MODE`, no model downloads, no
version check), with two OpenAI connections to the same mocks as aihub: the
paced stream mock (models prefixed `slow.`) and the fast one (`fast.`).

What is driven, and how:
1. concurrent answers in stored chats: `POST /api/chat/completions` with
   `chat_id`, the new assistant message `id`, `parent_id` and `user_message`,
   as its web app sends them. For a stored chat Open WebUI answers the HTTP
   call at once and runs the answer in the background, sending the tokens over
   socket.io only, so the per-chunk delay and TTFT are not measured here; what
   is: the time until every answer is stored (`done`), CPU per answer, RSS, and
   lost / truncated answers read from its database (`chat.chat` JSON, what
   loading a chat returns).
2. first token: `POST /api/chat/completions` without a chat (it then streams
   SSE over HTTP), with the thread's history in `messages` as its web app
   sends it: TTFT minus the mock's own TTFT.
3. loading: `GET /api/v1/chats/{id}` of a chat of 500 messages (imported),
   `GET /api/v1/chats/search?text=` and `GET /api/v1/chats/list` over 5,000
   chats (imported through `POST /api/v1/chats/import`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.hub_bench import (
    FAST_MOCK_PORT,
    LIST_THREADS,
    OWUI_PORT,
    OWUI_VENV,
    OWUI_VERSION,
    SEARCH_WORD,
    STREAM_MOCK_PORT,
    TOKEN,
    Sampler,
    call,
    cpu_seconds,
    direct_ttft,
    fast_mock_url,
    filler,
    first_token_row,
    history,
    load_average,
    log,
    ms,
    pct,
    pinned,
    rss_mib,
    spawn,
    stop,
    timed_get,
    tree_rss_mib,
    wait_http,
)

BASE = f"http://127.0.0.1:{OWUI_PORT}"


def install() -> Path:
    binary = OWUI_VENV / "bin" / "open-webui"
    if binary.exists():
        return binary
    log(f"installing open-webui=={OWUI_VERSION} into {OWUI_VENV} (once, minutes)")
    subprocess.run(["python3.11", "-m", "venv", str(OWUI_VENV)], check=True)  # noqa: S603, S607
    uv = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "uv"
    subprocess.run(  # noqa: S603
        [str(uv), "pip", "install", "--python", str(OWUI_VENV / "bin" / "python"),
         f"open-webui=={OWUI_VERSION}"],
        check=True,
    )  # fmt: skip
    return binary


def version() -> str:
    out = subprocess.run(  # noqa: S603
        [str(OWUI_VENV / "bin" / "python"), "-c",
         "import importlib.metadata as m; print(m.version('open-webui'))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return out.stdout.strip()


def chat_json(messages: list[dict[str, str]], title: str) -> dict[str, Any]:
    """A chat as Open WebUI stores it: a linked history plus the flat list."""
    ids = [str(uuid.uuid4()) for _ in messages]
    history_messages = {}
    for n, (mid, message) in enumerate(zip(ids, messages, strict=True)):
        history_messages[mid] = {
            "id": mid,
            "parentId": ids[n - 1] if n else None,
            "childrenIds": [ids[n + 1]] if n + 1 < len(ids) else [],
            "role": message["role"],
            "content": message["content"],
            "timestamp": int(time.time()),
            **({"model": "fast.gpt-4o-mini", "done": True}
               if message["role"] == "assistant" else {}),
        }  # fmt: skip
    return {
        "title": title,
        "models": ["fast.gpt-4o-mini"],
        "history": {
            "messages": history_messages,
            "currentId": ids[-1] if ids else None,
        },
        "messages": [history_messages[i] for i in ids],
    }


class OpenWebUI:
    def __init__(self, workdir: Path) -> None:
        self.data = workdir / "open-webui"
        self.data.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.headers: dict[str, str] = {}

    async def start(self, binary: Path) -> None:
        slow = f"http://127.0.0.1:{STREAM_MOCK_PORT}/v1"
        fast = f"http://127.0.0.1:{FAST_MOCK_PORT}/v1"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
        env.update(
            DATA_DIR=str(self.data),
            WEBUI_SECRET_KEY="hub-bench-open-webui-secret",
            OFFLINE_MODE="true",
            HF_HUB_OFFLINE="1",
            ENABLE_OLLAMA_API="false",
            ENABLE_OPENAI_API="true",
            OPENAI_API_BASE_URLS=f"{slow};{fast}",
            OPENAI_API_KEYS="sk-mock;sk-mock",
            OPENAI_API_CONFIGS=json.dumps(
                {"0": {"prefix_id": "slow"}, "1": {"prefix_id": "fast"}}
            ),
            BYPASS_EMBEDDING_AND_RETRIEVAL="true",
            ENABLE_TITLE_GENERATION="false",
            ENABLE_FOLLOW_UP_GENERATION="false",
            ENABLE_TAGS_GENERATION="false",
            ENABLE_AUTOCOMPLETE_GENERATION="false",
            GLOBAL_LOG_LEVEL="WARNING",
            SCARF_NO_ANALYTICS="true",
            DO_NOT_TRACK="true",
            ANONYMIZED_TELEMETRY="false",
        )
        argv = [str(binary), "serve", "--host", "127.0.0.1", "--port", str(OWUI_PORT)]
        self.process = spawn(pinned(1, argv), env, self.data, self.data / "serve.log")
        await wait_http(f"{BASE}/health", self.process, 300)
        self.pid = self.process.pid
        async with aiohttp.ClientSession() as http:
            user = {"name": "bench", "email": "bench@example.com",
                    "password": "hub-bench-password-123"}  # fmt: skip
            signup = await call(http, "POST", f"{BASE}/api/v1/auths/signup", user)
            self.headers = {"Authorization": f"Bearer {signup['token']}"}
            # the model list is cached after the first read
            await call(http, "GET", f"{BASE}/api/models", None, self.headers)
        log(f"open-webui up, RSS {tree_rss_mib(self.pid):.0f} MiB")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    async def import_chats(
        self, http: aiohttp.ClientSession, chats: list[dict[str, Any]]
    ) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(chats), 250):
            body = {"chats": [{"chat": c} for c in chats[start : start + 250]]}
            out = await call(
                http, "POST", f"{BASE}/api/v1/chats/import", body, self.headers
            )
            ids += [c["id"] for c in out]
        return ids

    def stored(self, chat_ids: list[str], answer_ids: dict[str, str]) -> dict[str, Any]:
        """Each chat's answer as its database holds it (chat JSON)."""
        db = sqlite3.connect(self.data / "webui.db", timeout=30)
        try:
            found = {}
            for start in range(0, len(chat_ids), 500):
                part = chat_ids[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT id, chat FROM chat WHERE id IN ({marks})",  # noqa: S608
                    part,
                ).fetchall()
                for chat_id, body in rows:
                    messages = json.loads(body)["history"]["messages"]
                    found[chat_id] = messages.get(answer_ids[chat_id])
            return found
        finally:
            db.close()

    def done_count(self, chat_ids: list[str], answer_ids: dict[str, str]) -> int:
        db = sqlite3.connect(self.data / "webui.db", timeout=30)
        try:
            wanted = [f"{c}-{answer_ids[c]}" for c in chat_ids]
            total = 0
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                total += db.execute(
                    f"SELECT count(*) FROM chat_message WHERE done = 1 AND id IN ({marks})",  # noqa: S608, E501
                    part,
                ).fetchone()[0]
            return total
        finally:
            db.close()


async def concurrency(
    owui: OpenWebUI, args: argparse.Namespace, level: int
) -> dict[str, Any]:
    first = [
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hi."},
    ]  # noqa: E501
    bodies = [chat_json(first, f"c{n}") for n in range(level)]
    async with aiohttp.ClientSession() as http:
        chat_ids = await owui.import_chats(http, bodies)
    chats = {cid: {"chat": body} for cid, body in zip(chat_ids, bodies, strict=True)}
    answer_ids = {cid: str(uuid.uuid4()) for cid in chat_ids}
    expected = TOKEN * args.tokens

    async def send(http: aiohttp.ClientSession, cid: str) -> str | None:
        history = chats[cid]["chat"]["history"]
        parent = history["currentId"]
        user_id = str(uuid.uuid4())
        body = {
            "model": "slow.gpt-4o-mini",
            "stream": True,
            "chat_id": cid,
            "id": answer_ids[cid],
            "parent_id": parent,
            "user_message": {"id": user_id, "role": "user", "content": f"Stream {cid}.",
                             "parentId": parent, "childrenIds": [answer_ids[cid]]},
            "messages": first + [{"role": "user", "content": f"Stream {cid}."}],
        }  # fmt: skip
        try:
            async with http.post(
                f"{BASE}/api/chat/completions", json=body, headers=owui.headers
            ) as response:
                await response.read()
                return None if response.status == 200 else f"HTTP {response.status}"
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}: {exc}"

    cpu_before, started = cpu_seconds(owui.pid), time.monotonic()
    deadline = started + args.tokens * args.chunk_delay_ms / 1000 * 4 + 120
    with Sampler(owui.pid) as sampler:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            errors = [
                e for e in await asyncio.gather(*(send(http, c) for c in chat_ids)) if e
            ]  # noqa: E501
        accepted = time.monotonic() - started
        done = 0
        while time.monotonic() < deadline:
            done = await asyncio.to_thread(owui.done_count, chat_ids, answer_ids)
            if done >= level - len(errors):  # a refused answer never comes
                break
            await asyncio.sleep(0.5)
    wall = time.monotonic() - started
    cpu = cpu_seconds(owui.pid) - cpu_before
    stored = await asyncio.to_thread(owui.stored, chat_ids, answer_ids)
    complete = lost = truncated = wrong = not_done = 0
    for cid in chat_ids:
        message = stored.get(cid)
        if not message:
            lost += 1
        elif (message.get("content") or "").strip() != expected.strip():
            # Open WebUI strips the answer's trailing space: not counted as loss
            if expected.startswith(message.get("content") or ""):
                truncated += 1
            else:
                wrong += 1
        elif not message.get("done"):
            not_done += 1
        else:
            complete += 1
    return {
        "streams": level,
        "wall_s": round(wall, 2),
        "all_accepted_s": round(accepted, 2),
        "cpu_ms_per_stream": round(cpu * 1000 / level, 2),
        "cpu_share": round(cpu / wall, 3),
        "rss_peak_mib": round(max(sampler.rss or [0.0]), 1),
        "rss_after_mib": round(tree_rss_mib(owui.pid), 1),
        "no_loss": {
            "streams": level,
            "complete": complete,
            "lost": lost,
            "truncated": truncated,
            "wrong": wrong,
            "not_complete": not_done,
            "client_errors": len(errors),
        },  # fmt: skip
        "errors": errors[:3],
        "load_avg": load_average(),
    }


async def ttft_once(
    http: aiohttp.ClientSession, owui: OpenWebUI, messages: list[dict[str, str]]
) -> float | None:  # noqa: E501
    body = {"model": "fast.gpt-4o-mini", "stream": True, "messages": messages}
    started = time.monotonic()
    async with http.post(
        f"{BASE}/api/chat/completions", json=body, headers=owui.headers
    ) as response:
        buffer = b""
        first = None
        async for piece in response.content.iter_any():
            buffer += piece
            if first is None and b'"content": "tok' in buffer.replace(b'":"', b'": "'):
                first = time.monotonic() - started
        return first


async def first_token(
    owui: OpenWebUI, args: argparse.Namespace
) -> list[dict[str, Any]]:  # noqa: E501
    rows = []
    async with aiohttp.ClientSession() as http:
        for length in args.lengths:
            messages = history(length)
            times = [
                t
                for t in [
                    await ttft_once(http, owui, messages) for _ in range(args.reps)
                ]
                if t
            ]  # noqa: E501
            base = await direct_ttft(fast_mock_url(), messages, args.reps)
            rows.append(first_token_row(length, times, base))
    return rows


async def loading(owui: OpenWebUI, args: argparse.Namespace) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        long = [{"role": "user" if n % 2 == 0 else "assistant", "content": filler(n)}
                for n in range(500)]  # fmt: skip
        (long_id,) = await owui.import_chats(http, [chat_json(long, "long")])
        thread = await timed_get(
            http, f"{BASE}/api/v1/chats/{long_id}", owui.headers, args.reps
        )  # noqa: E501
        chats = []
        for n in range(LIST_THREADS):
            word = SEARCH_WORD if n % 50 == 0 else "trend"
            chats.append(chat_json([
                {"role": "user", "content": f"How do I find the {word} here? {n}"},
                {"role": "assistant", "content": filler(n)},
            ], f"Thread {n}"))  # fmt: skip
        await owui.import_chats(http, chats)
        search = await timed_get(
            http, f"{BASE}/api/v1/chats/search?text={SEARCH_WORD}&page=1",
            owui.headers, args.reps,
        )  # fmt: skip
        page = await timed_get(
            http, f"{BASE}/api/v1/chats/list?page=1", owui.headers, args.reps
        )
    return {"thread_500": thread, "list_search_5000": search, "list_page_5000": page,
            "load_avg": load_average()}  # fmt: skip


async def run_openwebui(
    args: argparse.Namespace,
    workdir: Path,
    out: dict[str, Any],
    save_to: tuple[Any, str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fills `out` as it goes (saved after each flow when `save_to` is given)."""
    from bench.hub_bench import save

    def saved() -> None:
        if save_to is not None:
            save(save_to[2], save_to[0], save_to[1])

    out.update({"db": "sqlite", "concurrency": [], "notes": [
        "open-webui concurrent answers: stored chats stream over socket.io only, so "
        "added delay, TTFT and stored lag are not measured; wall time until every "
        "answer is stored, CPU, RSS and the no-loss check are.",
        "open-webui first token: without a stored chat (the only way it streams "
        "over HTTP), the history sent in `messages` as its web app does.",
    ]})  # fmt: skip
    owui = OpenWebUI(workdir)
    try:
        binary = await asyncio.to_thread(install)
        out["version"] = version()
        await owui.start(binary)
        out["rss_start_mib"] = round(rss_mib(owui.pid), 1)
        for level in args.levels:
            log(f"open-webui: {level} concurrent answers in stored chats")
            row = await concurrency(owui, args, level)
            log(f"  {json.dumps(row)}")
            out["concurrency"].append(row)
            saved()
        log("open-webui: first token")
        out["first_token"] = await first_token(owui, args)
        log(f"  {json.dumps(out['first_token'])}")
        saved()
        log("open-webui: loading")
        out["loading"] = await loading(owui, args)
        log(f"  {json.dumps(out['loading'])}")
    except Exception as exc:  # keep what was measured, say what failed
        out["error"] = f"{type(exc).__name__}: {exc}"
        log(f"open-webui failed: {out['error']}")
    finally:
        owui.stop()
        saved()
    return out


def ms_or_none(value: float | None) -> float | None:
    return ms(value)


__all__ = ["pct", "run_openwebui"]
