"""Prometheus metrics: what the hub and the outbox report (bot.ports.Metrics), and the
service's state read from the store at each scrape (so every process's work counts).

Labels are bounded: platform names, event kinds, delivery outcomes, ticket states. Never a
user or ticket id. One registry per process, made here, not prometheus_client's global one.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.queries import OpsSnapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TURN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Snapshot(Collector):
    """The store's figures as of the latest scrape."""

    def __init__(self) -> None:
        self.snapshot: OpsSnapshot | None = None
        self.now = 0.0

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        if snap is None:
            return
        depth = GaugeMetricFamily("kefu_queue_depth", "Tickets in the queue", labels=["status"])
        depth.add_metric(["open"], snap.queue_open)
        depth.add_metric(["claimed"], snap.queue_claimed)
        yield depth
        yield GaugeMetricFamily(
            "kefu_outbox_pending", "Deliveries waiting to be sent", value=snap.outbox_pending
        )
        oldest = 0.0 if snap.oldest_pending_at is None else self.now - snap.oldest_pending_at
        yield GaugeMetricFamily(
            "kefu_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery waiting to be sent",
            value=max(0.0, oldest),
        )
        yield GaugeMetricFamily(
            "kefu_dead_letters", "Deliveries that failed for good", value=snap.dead_letters
        )
        opened = CounterMetricFamily(
            "kefu_tickets_opened", "Tickets ever opened", labels=["platform"]
        )
        for platform, count in sorted(snap.opened.items()):
            opened.add_metric([platform], count)
        yield opened
        closed = GaugeMetricFamily(
            "kefu_tickets_closed", "Tickets closed now", labels=["platform"]
        )
        for platform, count in sorted(snap.closed.items()):
            closed.add_metric([platform], count)
        yield closed
        yield CounterMetricFamily(
            "kefu_sla_breaches",
            "Tickets answered after the SLA, or waiting past it unanswered",
            value=snap.sla_breaches,
        )


class PrometheusMetrics:
    """bot.ports.Metrics in a registry of its own, plus the store's figures at each scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._events = Counter(
            "kefu_events_received",
            "Inbound events, by platform and kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self._turns = Histogram(
            "kefu_turn_duration_seconds",
            "Time to handle one inbound event",
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self._deliveries = Counter(
            "kefu_deliveries",
            "Deliveries that ended, by platform and outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)

    def event(self, platform: str, kind: str) -> None:
        """Count an inbound event."""
        self._events.labels(platform, kind).inc()

    def turn(self, seconds: float) -> None:
        """Observe how long an event took."""
        self._turns.observe(seconds)

    def delivery(self, platform: str, outcome: str) -> None:
        """Count a delivery's outcome."""
        self._deliveries.labels(platform, outcome).inc()

    def exposition(self, snapshot: OpsSnapshot, now: float) -> bytes:
        """The text format, with the store's figures as given."""
        self._snapshot.snapshot = snapshot
        self._snapshot.now = now
        return generate_latest(self.registry)
