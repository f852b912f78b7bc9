"""The shape of a worker's last pass in `/health`: when it began, how long it took, and
its counts, the same for every worker that runs passes (the status sync, the reconciler's
two)."""

from __future__ import annotations

from datetime import datetime

from app.domain import clock


def last_pass(started_at: datetime, duration: float, **counts: object) -> dict[str, object]:
    """`{"at": ..., "duration_ms": ..., **counts}`: the duration in milliseconds, to 0.1."""
    return {"at": clock.to_text(started_at), "duration_ms": round(duration * 1000, 1), **counts}
