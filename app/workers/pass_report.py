"""`/health`'s `passes`: what the periodic workers of this instance did in their last pass."""

from __future__ import annotations

from typing import Any

from app.domain import clock
from app.workers.reconciliation_worker import ReconciliationWorker
from app.workers.status_sync_worker import StatusSyncWorker


def pass_report(reconciler: ReconciliationWorker, sync: StatusSyncWorker | None) -> dict[str, Any]:
    """`/health`'s `passes`: the last pass of each periodic worker on this instance."""
    report: dict[str, Any] = {"reconciliation": reconciler.report()}
    if sync is not None:
        last = sync.last_pass
        report["status_sync"] = {
            "passes": sync.passes,
            "failures": sync.failures,
            "last_error": sync.last_error,
            "members": len(sync.members),
            "last": None
            if last is None
            else {
                "at": clock.to_text(last.started_at),
                "duration_ms": round(last.duration * 1000, 1),
                "databases_seen": last.seen,
                "synced": last.synced,
                "written": last.written,
                "missing": last.missing,
                "cluster_calls": last.cluster_calls,
                "errors": last.errors,
            },
        }
    return report
