#!/usr/bin/env python3
"""Chart of a hub benchmark run (bench/hub_bench.py): per server, the delay
added to stream chunks and CPU per stream by concurrency, the send-to-first-token
overhead by thread length, and the loading flows.

    .venv/bin/python bench/hub_chart.py bench/hub-results/latest.json bench/hub_results.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def servers(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [(f"aihub {r['db']}", r) for r in results.get("aihub", [])]
    if results.get("openwebui"):
        out.append(("open-webui", results["openwebui"]))
    return out


def main(source: Path, target: Path) -> None:
    results = json.loads(source.read_text())
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (delay, cpu), (first, loading) = axes
    for name, server in servers(results):
        rows = server.get("concurrency", [])
        xs = [r["streams"] for r in rows if r.get("late_p99_ms") is not None]
        if xs:
            delay.plot(
                xs,
                [r["late_p99_ms"] for r in rows if r.get("late_p99_ms") is not None],
                marker="o",
                label=f"{name} p99",
            )  # noqa: E501
        cpu.plot(
            [r["streams"] for r in rows],
            [r["cpu_ms_per_stream"] for r in rows],
            marker="o",
            label=name,
        )  # noqa: E501
        ft = server.get("first_token", [])
        first.plot(
            [r["messages"] for r in ft],
            [r["overhead_p50_ms"] for r in ft],
            marker="o",
            label=name,
        )  # noqa: E501
    direct = results.get("direct", [])
    delay.plot(
        [d["streams"] for d in direct],
        [d["late_p99_ms"] for d in direct],
        "k--",
        label="mock read directly p99",
    )  # noqa: E501
    flows = ["thread_500", "list_search_5000", "list_page_5000"]
    named = servers(results)
    width = 0.8 / max(1, len(named))
    for index, (name, server) in enumerate(named):
        values = [
            (server.get("loading") or {}).get(f, {}).get("p50_ms") or 0 for f in flows
        ]  # noqa: E501
        loading.bar(
            [i + index * width for i in range(len(flows))], values, width, label=name
        )  # noqa: E501
    loading.set_xticks([i + width * (len(named) - 1) / 2 for i in range(len(flows))])
    loading.set_xticklabels(
        ["500-message thread", "search, 5k threads", "list page, 5k"]
    )  # noqa: E501
    for axis, title, xlabel, ylabel in (
        (delay, "Delay added to each chunk (p99)", "concurrent streams", "ms"),
        (cpu, "CPU per streamed answer", "concurrent streams", "ms"),
        (first, "Send-to-first-token overhead (p50)", "messages in the thread", "ms"),
        (loading, "Loading (p50)", "", "ms"),
    ):
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    for axis in (delay, cpu):
        axis.set_xscale("log")
    delay.set_yscale("log")
    s = results["settings"]
    fig.suptitle(
        f"Hub benchmark {results['stamp']}: {s['tokens']} tokens at "
        f"{s['chunk_delay_ms']} ms, one process on one core; load average "
        f"{results.get('load_avg_start')} -> {results.get('load_avg_end')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
