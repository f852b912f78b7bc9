"""Operations: the record of one change to a database, and the state machine it moves through.

    queued ──► running ──► waiting ──► running ──► ... ──► succeeded
      ▲           │  └──────────────────────────────────► failed
      └───────────┘ (retry after a temporary error)       cancelled (from any active state)

The store is the source of truth for an operation; the queue only carries wake-ups. A state
change is applied with compare-and-set on `revision`, so two workers can never both move one
operation. `_ALLOWED` is the one place that says which moves are legal; the engine checks
every status it writes against it (`check_transition`), and both store adapters refuse an
`update_fields` that would make an illegal move (`legal_sources`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids

# Its home is the domain's error tree; also importable from here.
from app.domain.errors import IllegalTransition as IllegalTransition


class OperationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return not self.is_active


ACTIVE_STATUSES = frozenset(
    {OperationStatus.QUEUED, OperationStatus.RUNNING, OperationStatus.WAITING}
)
TERMINAL_STATUSES = frozenset(
    {OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELLED}
)

_ALLOWED: dict[OperationStatus, frozenset[OperationStatus]] = {
    OperationStatus.QUEUED: frozenset(
        {OperationStatus.RUNNING, OperationStatus.FAILED, OperationStatus.CANCELLED}
    ),
    OperationStatus.WAITING: frozenset(
        {OperationStatus.RUNNING, OperationStatus.FAILED, OperationStatus.CANCELLED}
    ),
    # running -> running: another worker takes over after the holder's lease expired.
    OperationStatus.RUNNING: frozenset(
        {
            OperationStatus.RUNNING,
            OperationStatus.QUEUED,
            OperationStatus.WAITING,
            OperationStatus.SUCCEEDED,
            OperationStatus.FAILED,
            OperationStatus.CANCELLED,
        }
    ),
    OperationStatus.SUCCEEDED: frozenset(),
    OperationStatus.FAILED: frozenset(),
    OperationStatus.CANCELLED: frozenset(),
}


def check_transition(current: OperationStatus, target: OperationStatus) -> None:
    """Raise `IllegalTransition` unless `current -> target` is a legal move."""
    if target not in _ALLOWED[current]:
        raise IllegalTransition(current, target)


def legal_sources(target: OperationStatus) -> frozenset[OperationStatus]:
    """The statuses an operation may be in for a move to `target` (what a store's
    compare-and-set requires of the stored document)."""
    return frozenset(current for current, targets in _ALLOWED.items() if target in targets)


class OperationType(StrEnum):
    CREATE = "create"
    DELETE = "delete"
    SCALE_HORIZONTAL = "scale_horizontal"
    SCALE_VERTICAL = "scale_vertical"
    EXPAND_STORAGE = "expand_storage"
    UPGRADE_VERSION = "upgrade_version"
    PAUSE = "pause"
    RESUME = "resume"
    RESTART = "restart"
    ROTATE_CREDENTIALS = "rotate_credentials"
    UPDATE = "update"
    BACKUP = "backup"
    RESTORE = "restore"


class Operation(BaseModel):
    """One operation document. Fields up to `completed_at` are the public API shape."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.OPERATION))
    database_id: str
    domain: str
    project: str
    # A free string, not OperationType: the engine runs whatever types have handlers.
    type: str
    status: OperationStatus = OperationStatus.QUEUED
    progress: int = 0
    message: str | None = None
    error_message: str | None = None
    attempts: int = 0
    ops_request_name: str | None = None
    ops_request_phase: str | None = None
    desired_state: dict[str, Any] = Field(default_factory=dict)
    created_by: str | None = None
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    started_at: clock.Timestamp | None = None
    completed_at: clock.Timestamp | None = None

    # Engine bookkeeping.
    revision: int = 0
    updated_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    # Consecutive temporary failures; reset when a step makes progress. Drives backoff.
    retries: int = 0
    next_run_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    deadline_at: clock.Timestamp | None = None
    lease_owner: str | None = None
    lease_expires_at: clock.Timestamp | None = None
    cancel_requested: bool = False
    # Handler-owned progress marker (which sub-step is next), JSON-serialisable.
    state: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    def lease_is_live(self, now: datetime) -> bool:
        return (
            self.status is OperationStatus.RUNNING
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )
