"""Process-level tuning for a long-running server process."""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000
GEN1_THRESHOLD = 50
GEN2_THRESHOLD = 100


def tune_gc() -> None:
    """After start-up: move every object alive now (modules, the catalog,
    tokenizers, the app) out of the collector's reach, and collect young
    objects less often. Full collections then scan only what requests created,
    so they stay short: no multi-hundred-millisecond pauses under load."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
