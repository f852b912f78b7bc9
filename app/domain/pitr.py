"""Point-in-time recovery: the restore window a database's archive covers, read from its
incremental Snapshot, and the rule that a point in time must fall inside it.

The window is `[logStats.start, logStats.end]` of the Snapshot's log component (`wal` for
PostgreSQL, the binlog or oplog elsewhere): start is the oldest full backup the log builds
on, end the newest point the archived log is known to cover. Gaps are what the cluster
reports as such (none unless it does). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.domain import clock


@dataclass(frozen=True, slots=True)
class Gap:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class RestoreWindow:
    earliest: datetime
    latest: datetime
    gaps: tuple[Gap, ...] = field(default=())

    def covers(self, moment: datetime) -> bool:
        moment = as_utc(moment)
        if not self.earliest <= moment <= self.latest:
            return False
        return not any(gap.start < moment < gap.end for gap in self.gaps)


def as_utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_of(snapshot: Mapping[str, Any] | None) -> RestoreWindow | None:
    """The window of an incremental Snapshot; None when it has none yet (no Snapshot, no
    log shipped, or times that do not read)."""
    if snapshot is None:
        return None
    components = (snapshot.get("status") or {}).get("components") or {}
    for component in components.values():
        if not isinstance(component, Mapping):
            continue
        stats = component.get("logStats")
        if not isinstance(stats, Mapping):
            continue
        start, end = clock.parse_or_none(stats.get("start")), clock.parse_or_none(stats.get("end"))
        if start is None or end is None or end < start:
            continue
        return RestoreWindow(earliest=start, latest=end, gaps=_gaps(stats.get("gaps")))
    return None


def _gaps(value: object) -> tuple[Gap, ...]:
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        if isinstance(item, Mapping):
            start, end = (
                clock.parse_or_none(item.get("start")),
                clock.parse_or_none(item.get("end")),
            )
            if start is not None and end is not None:
                found.append(Gap(start, end))
    return tuple(found)


def describe(window: RestoreWindow) -> str:
    return f"{_text(window.earliest)}..{_text(window.latest)}"


def _text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def recovery_failure(database_cr: Mapping[str, Any]) -> str | None:
    """Why KubeDB could not recover a new database to its point in time: its `DataRestored`
    condition once False (reason FailedToRestoreData); None while it has not failed."""
    for condition in (database_cr.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "DataRestored" and condition.get("status") == "False":
            said = condition.get("message") or condition.get("reason") or "no reason given"
            return f"point-in-time restore failed: {said}"
    return None
