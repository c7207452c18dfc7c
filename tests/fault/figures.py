"""Figures the fault-injection suite measured: printed at once (``-s``) and
again in the terminal summary, so a CI log always shows them."""

from __future__ import annotations

import sys

FIGURES: list[str] = []


def record(scenario: str, text: str) -> None:
    line = f"[fault] {scenario}: {text}"
    FIGURES.append(line)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
