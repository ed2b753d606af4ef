"""Prometheus metrics of a server made of several processes: the HTTP front ends count requests,
errors by code and latency; the model processes their batch sizes; the main process the model
processes it replaced; queue depths and ready processes are read when ``/metrics`` is scraped.

``prometheus_client``'s multiprocess mode keeps each process's values in files of one folder and
adds them up when scraped. It is chosen when the library is imported, so ``use_folder`` runs
before anything imports it; the metrics are made on first use in each process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_made: dict[str, Any] = {}


def use_folder(folder: Path) -> None:
    """Where this process and the ones it starts keep their values (an empty folder)."""
    os.environ[FOLDER_VARIABLE] = str(folder)


def _on() -> bool:
    return FOLDER_VARIABLE in os.environ


def _metric(kind: str, name: str, documentation: str, **options: Any) -> Any:
    if name not in _made:
        import prometheus_client

        _made[name] = getattr(prometheus_client, kind)(
            name, documentation, ["route"] + options.pop("more", []), **options
        )
    return _made[name]


def count_request(route: str, code: int, seconds: float) -> None:
    if not _on():
        return
    _metric(
        "Counter", "lstm_apps_requests", "HTTP requests answered, by route and status code", more=["code"]
    ).labels(route, str(code)).inc()
    _metric(
        "Histogram",
        "lstm_apps_request_seconds",
        "seconds from a request's arrival to its answer",
        buckets=LATENCY_BUCKETS,
    ).labels(route).observe(seconds)


def observe_batch(route: str, size: int) -> None:
    if _on():
        _metric(
            "Histogram", "lstm_apps_batch_size", "requests decoded together", buckets=BATCH_BUCKETS
        ).labels(route).observe(size)


def count_restart(route: str) -> None:
    if _on():
        _metric("Counter", "lstm_apps_model_restarts", "model processes replaced after dying").labels(
            route
        ).inc()


def exposition(gauges: Callable[[], Iterable[tuple[str, str, dict[str, float]]]]) -> tuple[bytes, str]:
    """The text a Prometheus scrape reads: every process's values added up, and ``gauges()``
    (name, help, route -> value) read now."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.multiprocess import MultiProcessCollector

    class Now:
        def collect(self) -> Iterable[GaugeMetricFamily]:
            for name, documentation, values in gauges():
                family = GaugeMetricFamily(name, documentation, labels=["route"])
                for route, value in values.items():
                    family.add_metric([route], value)
                yield family

    registry = CollectorRegistry()
    if _on():
        MultiProcessCollector(registry)
    registry.register(Now())
    return generate_latest(registry), CONTENT_TYPE_LATEST
