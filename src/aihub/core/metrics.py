"""Prometheus metrics, one registry per app so several apps can live in a test run."""

from __future__ import annotations

import gc
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aihub_http_requests_total",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aihub_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["method", "route", "status"],
            buckets=(
                0.001,
                0.0025,
                0.005,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                0.5,
                1,
                2.5,
                5,
                10,
                30,
                60,
            ),
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)


class GcPauses:
    """Garbage-collector pauses of this process, for /metrics: a histogram by
    generation and the longest pause seen. Installed by ``aihub serve``."""

    def __init__(self, metrics: HttpMetrics) -> None:
        self.pauses = Histogram(
            "aihub_gc_pause_seconds",
            "Garbage-collection pauses by generation",
            ["generation"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3, 1),
            registry=metrics.registry,
        )
        self.longest = Gauge(
            "aihub_gc_pause_max_seconds",
            "The longest garbage-collection pause since start",
            registry=metrics.registry,
        )
        self._max = 0.0
        self._started = 0.0

    def install(self) -> None:
        gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.pauses.labels(str(info.get("generation", -1))).observe(pause)
        if pause > self._max:
            self._max = pause
            self.longest.set(pause)
