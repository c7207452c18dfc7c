"""Draw the bench harness's results (results/latest.json) as a PNG for the README.

    python bench/chart.py ../shared/bench/results/latest.json bench/results.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = report["targets"]
    return rows


def main(source: str, target: str) -> None:
    report = json.loads(Path(source).read_text())
    targets = _rows(report)
    names = [t["name"] for t in targets]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    fig.suptitle(
        f"Gateway per core, same run {report['stamp']} "
        f"({report['environment'].get('cpu_model', '')})",
        fontsize=10,
    )
    for t in targets:
        runs = t.get("wrk") or []
        axes[0].plot(
            [r["concurrency"] for r in runs],
            [r["rps"] for r in runs],
            marker="o",
            label=t["name"],
        )
        axes[1].plot(
            [r["concurrency"] for r in runs],
            [r["p99_ms"] for r in runs],
            marker="o",
            label=t["name"],
        )
    axes[0].set(title="non-stream req/s (higher is better)", xlabel="connections")
    axes[1].set(title="non-stream p99 ms (lower is better)", xlabel="connections")
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    width = 0.8 / max(1, len(names))
    for index, t in enumerate(targets):
        probes = t.get("streams") or []
        axes[2].bar(
            [i + index * width for i in range(len(probes))],
            [p["ttft_p50_ms"] for p in probes],
            width=width,
            label=t["name"],
        )
        axes[2].set_xticks(
            [i + 0.4 - width / 2 for i in range(len(probes))],
            [f"{p['concurrency']} streams" for p in probes],
        )
    axes[2].set(title="stream TTFT p50 ms (lower is better)")
    axes[2].set_yscale("log")
    for axis in axes:
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
