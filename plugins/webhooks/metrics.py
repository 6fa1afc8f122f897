"""The webhooks plugin's figures, and their Prometheus metrics (the ``register_metrics`` hook).

Counted in this process: attempts by outcome, deliveries by final outcome, endpoints disabled,
and (with metrics on) a histogram of attempt durations. The queue (pending deliveries and the age
of the oldest) is read from the database by the dispatcher every few seconds while metrics are
on, and reported from memory at scrape time. No label names a user, an endpoint or a URL.
"""
from __future__ import annotations

import collections
import time
from typing import Any, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

# What an attempt came to: a 2xx, another status (3xx included: redirects are not followed), no
# answer in time, no connection (or TLS, or a name that does not resolve), an address the SSRF
# guard refused, or a secret the server cannot open.
ATTEMPT_OUTCOMES = ("success", "http_error", "timeout", "network", "refused", "secret")
DELIVERY_OUTCOMES = ("delivered", "failed")


class WebhookStats:
    def __init__(self) -> None:
        self.attempts: collections.Counter[str] = collections.Counter()
        self.deliveries: collections.Counter[str] = collections.Counter()
        self.disabled = 0
        self.queue: dict[str, Any] | None = None  # store.queue_figures(), while metrics are on
        self.durations: Any = None  # a Histogram, while metrics are on

    @property
    def watch_queue(self) -> bool:
        return self.durations is not None

    def attempt(self, outcome: str, seconds: float) -> None:
        self.attempts[outcome] += 1
        if self.durations is not None:
            self.durations.observe(seconds)

    def register(self, registry: Any) -> None:
        from prometheus_client import Histogram

        self.durations = Histogram(
            "wamulti_webhooks_attempt_duration_seconds", "Time one delivery attempt took, answer or not.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=registry,
        )
        registry.register(_Collector(self))


class _Collector:
    def __init__(self, stats: WebhookStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        attempts = CounterMetricFamily("wamulti_webhooks_attempts", "Delivery attempts, by outcome.", labels=["outcome"])
        for outcome in ATTEMPT_OUTCOMES:
            attempts.add_metric([outcome], stats.attempts[outcome])
        yield attempts
        deliveries = CounterMetricFamily(
            "wamulti_webhooks_deliveries", "Deliveries finished: delivered, or failed after webhooks.retry_for.",
            labels=["outcome"],
        )
        for outcome in DELIVERY_OUTCOMES:
            deliveries.add_metric([outcome], stats.deliveries[outcome])
        yield deliveries
        yield CounterMetricFamily("wamulti_webhooks_endpoints_disabled",
                                  "Endpoints disabled because their deliveries kept failing.", value=stats.disabled)
        queue = stats.queue
        if queue is None:
            return
        depth = GaugeMetricFamily("wamulti_webhooks_queue_depth", "Deliveries waiting: of active endpoints (pending), "
                                  "and of inactive ones (held until enabled).", labels=["state"])
        depth.add_metric(["pending"], queue["pending"])
        depth.add_metric(["held"], queue["held"])
        yield depth
        oldest = queue["oldest_ms"]
        age = max(0.0, time.time() - int(oldest) / 1000) if oldest is not None else 0.0
        yield GaugeMetricFamily("wamulti_webhooks_oldest_pending_age_seconds",
                                "Age of the oldest delivery waiting for an active endpoint (0: none).", value=age)
