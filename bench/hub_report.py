"""The hub benchmark's results as markdown tables (bench/hub_bench.py)."""

from __future__ import annotations

from typing import Any


def _v(value: Any) -> str:
    return "-" if value is None else str(value)


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_v(c) for c in row) + " |" for row in rows]
    return lines


def _direct(results: dict[str, Any], level: int) -> dict[str, Any]:
    return next((d for d in results.get("direct", []) if d["streams"] == level), {})


def _minus(a: Any, b: Any) -> Any:
    return None if a is None or b is None else round(a - b, 2)


def render(results: dict[str, Any]) -> str:
    s = results["settings"]
    out = [
        f"# Hub benchmark {results['stamp']}",
        "",
        f"{s['tokens']} tokens per answer, {s['chunk_delay_ms']} ms between tokens; "
        f"load average at start {results.get('load_avg_start')}, "
        f"at end {results.get('load_avg_end')} ({s['cpus']} CPUs).",
        "",
        "## Concurrent streams",
        "",
    ]
    rows = []
    servers = [(f"aihub {r['db']}", r) for r in results.get("aihub", [])]
    if results.get("openwebui"):
        servers.append(("open-webui", results["openwebui"]))
    for name, server in servers:
        for row in server.get("concurrency", []):
            direct = _direct(results, row["streams"])
            loss = row.get("no_loss", {})
            rows.append([
                name, row["streams"],
                row.get("late_p50_ms"), row.get("late_p99_ms"),
                f"{_v(direct.get('late_p50_ms'))} / {_v(direct.get('late_p99_ms'))}",
                row.get("ttft_p50_ms"), row.get("stored_lag_p99_ms"),
                row.get("cpu_ms_per_stream"), row.get("rss_peak_mib"),
                f"{loss.get('complete')}/{loss.get('streams')}",
                loss.get("lost"), loss.get("refused", "-"), loss.get("truncated"),
                row.get("load_avg"),
            ])  # fmt: skip
    out += _table(
        ["server", "streams", "added p50 ms", "added p99 ms",
         "floor (direct) p50 / p99 ms", "TTFT p50 ms",
         "stored lag p99 ms", "CPU ms/stream", "RSS peak MiB", "complete",
         "lost", "refused", "truncated", "load avg"],
        rows,
    )  # fmt: skip
    out += ["", "## Send to first token", ""]
    rows = []
    for name, server in servers:
        for row in server.get("first_token", []):
            rows.append([
                name, row["messages"], row.get("ttft_p50_ms"), row.get("ttft_p99_ms"),
                row.get("direct_ttft_p50_ms"), row.get("overhead_p50_ms"),
            ])  # fmt: skip
    out += _table(
        ["server", "messages", "TTFT p50 ms", "TTFT p99 ms", "mock TTFT p50 ms",
         "overhead p50 ms"],
        rows,
    )  # fmt: skip
    out += ["", "## Loading", ""]
    rows = []
    for name, server in servers:
        loading = server.get("loading") or {}
        for flow in ("thread_500", "list_search_5000", "list_page_5000"):
            if flow in loading:
                f = loading[flow]
                rows.append(
                    [name, flow, f.get("p50_ms"), f.get("p99_ms"), f.get("bytes")]
                )
    out += _table(["server", "flow", "p50 ms", "p99 ms", "bytes"], rows)
    notes = [n for _, server in servers for n in server.get("notes", [])]
    for name, server in servers:
        for row in server.get("concurrency", []):
            samples = row.get("no_loss", {}).get("error_samples") or row.get("errors")
            if samples:
                notes.append(f"{name}, {row['streams']} streams: {samples}")
    errors = [
        f"{name}: {server['error']}" for name, server in servers if server.get("error")
    ]
    if notes or errors:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes + errors]
    return "\n".join(out) + "\n"
