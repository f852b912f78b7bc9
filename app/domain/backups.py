"""Backups: the record a user sees, and the rules that turn a database's backup policy into
what KubeStash runs.

A backup is one KubeStash Snapshot of a database, seen through this platform: its `type`
says why it was taken (`scheduled` by the BackupConfiguration's cron, `manual` on demand,
`final` before a delete), its `status` follows the Snapshot's phase (and the BackupSession's
when no Snapshot exists yet). Manual and final backups live in a repository whose retention
never prunes; scheduled ones in a repository pruned by the database's retention
(`backup_retention_days`), so the exemption is KubeStash's own, not a filter here.

Schedules: `hourly`, `daily` and `weekly` become cron expressions whose minute (and hour,
and weekday) are spread by the database id, so ten thousand databases created together do
not all back up at midnight; a cron expression is used as given.
Nothing here does I/O.
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids


class BackupType(enum.StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    FINAL = "final"


class BackupStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (BackupStatus.SUCCEEDED, BackupStatus.FAILED)


class Backup(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.BACKUP))
    database_id: str
    database_name: str
    domain: str
    project: str
    engine: str
    provider_id: str
    namespace: str
    type: BackupType
    status: BackupStatus = BackupStatus.PENDING
    storage: str
    repository: str
    # The BackupSession that takes it (scheduled ones: the one the cron created).
    session_name: str | None = None
    # The Snapshot it is; unique per (provider, namespace): the sync keys on it.
    snapshot_name: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    size_bytes: int | None = None
    error: str | None = None
    # Set when retention (or a user) removed its Snapshot: the record stays for the audit
    # trail but is no longer listed nor restorable.
    removed_at: datetime | None = None
    created_at: datetime = Field(default_factory=clock.utcnow)
    updated_at: datetime = Field(default_factory=clock.utcnow)
    revision: int = 1


# Snapshot and BackupSession phases (reference/kubestash.md §1) → the backup's status.
_SNAPSHOT_PHASES = {
    "Pending": BackupStatus.PENDING,
    "Running": BackupStatus.RUNNING,
    "Succeeded": BackupStatus.SUCCEEDED,
    "Failed": BackupStatus.FAILED,
}
_SESSION_PHASES = {**_SNAPSHOT_PHASES, "Skipped": BackupStatus.FAILED}


def status_of_snapshot(phase: str | None) -> BackupStatus:
    return _SNAPSHOT_PHASES.get(phase or "", BackupStatus.PENDING)


def status_of_session(phase: str | None) -> BackupStatus:
    return _SESSION_PHASES.get(phase or "", BackupStatus.PENDING)


_UNITS = {
    "": 1,
    "B": 1,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)?\s*$")


def size_bytes(text: str | None) -> int | None:
    """KubeStash's human-readable sizes ("2.201 KiB", "0 B") in bytes; None when unreadable
    (a size is shown, never guessed)."""
    if not text:
        return None
    match = _SIZE.match(text)
    if match is None:
        return None
    number, unit = match.groups()
    return round(float(number) * _UNITS[unit or ""])


def _spread(database_id: str, modulo: int, *, salt: str) -> int:
    digest = hashlib.sha256(f"{salt}/{database_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % modulo


def cron_for(schedule: str, *, database_id: str) -> str:
    """The cron expression of a validated `backup_schedule` (`validation.check_backup_schedule`)."""
    minute = _spread(database_id, 60, salt="minute")
    hour = _spread(database_id, 24, salt="hour")
    weekday = _spread(database_id, 7, salt="weekday")
    named = {
        "hourly": f"{minute} * * * *",
        "daily": f"{minute} {hour} * * *",
        "weekly": f"{minute} {hour} * * {weekday}",
    }
    return named.get(schedule, schedule)


FAILED_KEPT = 3
"""Failed scheduled backups kept for their error messages (KubeStash `failedSnapshots.last`)."""


def retention_period(days: int) -> str:
    """KubeStash's `maxRetentionPeriod` for `backup_retention_days`."""
    return f"{days}d"
