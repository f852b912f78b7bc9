"""The Prometheus series of one app instance, in one registry, served at `/metrics`.

Each component is handed this object (built once in `create_app`) and records what it did
through the small methods below; it never reaches for a process-wide default registry, so two
app instances in one process (the tests run several) keep their own figures.

Labels are bounded: route templates, never paths; operation types and outcomes; engines,
statuses and health values from their enums; cluster verbs and error kinds. Never an id, a
name or a message.

Counters and histograms are recorded as things happen. The gauges that describe shared state
(queue depth, databases by engine/status/health) are sampled when `/metrics` is scraped
(`services.telemetry`); they show the whole system and are the same on every instance.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "dbaas"
UNMATCHED_ROUTE = "unmatched"

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PASSES = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_OPERATIONS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def outcome_of(exc: BaseException | None) -> str:
    """`ok`, or the error's class name in snake case (`not_found`, `unavailable`)."""
    return "ok" if exc is None else _CAMEL.sub("_", type(exc).__name__).lower()


class Metrics:
    def __init__(self) -> None:
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["route", "method"],
            buckets=_FAST,
            registry=r,
        )
        self.operations_started = Counter(
            f"{PREFIX}_operations_started",
            "Operations whose first step began, by type.",
            ["type"],
            registry=r,
        )
        self.operations_finished = Counter(
            f"{PREFIX}_operations_finished",
            "Operations that ended, by type and outcome (succeeded, failed, cancelled).",
            ["type", "outcome"],
            registry=r,
        )
        self.operation_duration = Histogram(
            f"{PREFIX}_operation_duration_seconds",
            "From an operation's creation to its end.",
            ["type", "outcome"],
            buckets=_OPERATIONS,
            registry=r,
        )
        self.queue_ready = Gauge(
            f"{PREFIX}_queue_ready",
            "Wake-ups in the queue that no worker has taken yet.",
            registry=r,
        )
        self.queue_pending = Gauge(
            f"{PREFIX}_queue_pending",
            "Wake-ups taken by a worker and not yet acknowledged.",
            registry=r,
        )
        self.queue_delayed = Gauge(
            f"{PREFIX}_queue_delayed",
            "Wake-ups scheduled for later (waits and backoff).",
            registry=r,
        )
        self.queue_reclaimed = Counter(
            f"{PREFIX}_queue_reclaimed",
            "Wake-ups taken over from a worker that stopped "
            "acknowledging them (visibility timeout).",
            registry=r,
        )
        self.leader = Gauge(
            f"{PREFIX}_leader",
            "1 while this instance holds the leader lease, else 0.",
            registry=r,
        )
        self.leadership_changes = Counter(
            f"{PREFIX}_leadership_changes",
            "Times this instance gained or lost leadership, by change (acquired, lost, released).",
            ["change"],
            registry=r,
        )
        self.reconcile_duration = Histogram(
            f"{PREFIX}_reconcile_pass_duration_seconds",
            "Duration of the leader's passes, by "
            "pass (stalled: wake-ups resent; drift: clusters compared with records).",
            ["pass"],
            buckets=_PASSES,
            registry=r,
        )
        self.drift_found = Counter(
            f"{PREFIX}_drift_found",
            "Differences between a record and its cluster, by kind "
            "(halted, storage, resources, replicas, shards, version, vanished, orphan).",
            ["kind"],
            registry=r,
        )
        self.status_sync_duration = Histogram(
            f"{PREFIX}_status_sync_pass_duration_seconds",
            "Duration of this instance's status sync passes.",
            buckets=_PASSES,
            registry=r,
        )
        self.status_sync_synced = Counter(
            f"{PREFIX}_status_sync_databases_synced",
            "Databases this instance compared with their cluster object.",
            registry=r,
        )
        self.status_sync_written = Counter(
            f"{PREFIX}_status_sync_databases_written",
            "Databases whose record the status sync changed.",
            registry=r,
        )
        self.cluster_calls = Counter(
            f"{PREFIX}_cluster_calls",
            "Kubernetes API calls, by verb and outcome (ok or the error kind).",
            ["verb", "outcome"],
            registry=r,
        )
        self.cluster_call_duration = Histogram(
            f"{PREFIX}_cluster_call_duration_seconds",
            "Duration of Kubernetes API calls.",
            ["verb"],
            buckets=_FAST,
            registry=r,
        )
        self.databases = Gauge(
            f"{PREFIX}_databases",
            "Databases not deleted, by engine, status and health.",
            ["engine", "status", "health"],
            registry=r,
        )
        self.backups = Gauge(
            f"{PREFIX}_backups",
            "Backups kept (not removed), by backup storage, type and status.",
            ["storage", "type", "status"],
            registry=r,
        )
        self.backup_bytes = Gauge(
            f"{PREFIX}_backup_bytes",
            "Bytes of the backups kept, by backup storage, type and status.",
            ["storage", "type", "status"],
            registry=r,
        )
        self.sample_errors = Counter(
            f"{PREFIX}_metrics_sample_errors",
            "Scrapes whose queue or store sample failed (the gauges keep their last values).",
            ["source"],
            registry=r,
        )

    # --- recorders, one per thing that happens ------------------------------------------

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # The labelled children are looked up once per (route, method, status): the lookup
        # costs twice the recording, and this runs on every request.
        if method not in _METHODS:
            method = "OTHER"  # a client can send any token as a method: keep labels bounded
        key = (route, method, status)
        children = self._http_children.get(key)
        if children is None:
            children = self._http_children[key] = (
                self.http_requests.labels(route, method, str(status)),
                self.http_duration.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def operation_started(self, op_type: str) -> None:
        self.operations_started.labels(op_type).inc()

    def operation_finished(self, op_type: str, outcome: str, seconds: float) -> None:
        self.operations_finished.labels(op_type, outcome).inc()
        self.operation_duration.labels(op_type, outcome).observe(max(0.0, seconds))

    def reclaimed(self, count: int) -> None:
        self.queue_reclaimed.inc(count)

    def leadership(self, change: str, *, leading: bool) -> None:
        self.leadership_changes.labels(change).inc()
        self.leader.set(1 if leading else 0)

    def reconcile_pass(self, kind: str, seconds: float) -> None:
        self.reconcile_duration.labels(kind).observe(seconds)

    def drift(self, kind: str, count: int = 1) -> None:
        if count:
            self.drift_found.labels(kind).inc(count)

    def status_sync_pass(self, seconds: float, *, synced: int, written: int) -> None:
        self.status_sync_duration.observe(seconds)
        self.status_sync_synced.inc(synced)
        self.status_sync_written.inc(written)

    def cluster_call(self, verb: str, outcome: str, seconds: float) -> None:
        self.cluster_calls.labels(verb, outcome).inc()
        self.cluster_call_duration.labels(verb).observe(seconds)
