"""From what KubeDB reports to what the API shows: the one status mapping (STYLE rule 4).

Three pieces, all pure:

1. `derive_phase(conditions)`: KubeDB's `PhaseFromConditionV1` (reference §2), evaluated
   top-down. The simulator uses it to set `status.phase`; the status sync uses it only when a
   CR carries conditions but no phase.
2. `health_status(phase)` and `lifecycle_status(phase, current=..., operation_active=...)`:
   the API's `health_status` (healthy = Ready, degraded = Critical, unhealthy = NotReady,
   unknown otherwise) and its lifecycle `status`. While an operation is active, the lifecycle
   status belongs to that operation (scaling, updating, ...); the phase only says how healthy
   the database is meanwhile.
3. `ops_outcome(phase)`: an OpsRequest phase (§5.4) as the operation step needs it: still in
   progress, succeeded, failed (Failed, Denied) or superseded (Skipped by a newer request).

Parsing (`observe_database`, `observe_ops_request`) tolerates missing and malformed fields:
a half-written status must not crash the status sync, it just maps to "unknown". This module
must not decide what to do about an outcome (retry, fail, resubmit): the operation steps do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.domain.databases import DatabaseStatus, HealthStatus


class DatabasePhase(StrEnum):
    UNSET = ""  # the operator has not processed the object yet
    PROVISIONING = "Provisioning"
    DATA_RESTORING = "DataRestoring"
    READY = "Ready"
    CRITICAL = "Critical"
    NOT_READY = "NotReady"
    HALTED = "Halted"
    UNKNOWN = "Unknown"


class ConditionType(StrEnum):
    PROVISIONING_STARTED = "ProvisioningStarted"
    REPLICA_READY = "ReplicaReady"
    ACCEPTING_CONNECTION = "AcceptingConnection"
    READY = "Ready"
    PROVISIONED = "Provisioned"
    DATA_RESTORE_STARTED = "DataRestoreStarted"
    DATA_RESTORED = "DataRestored"
    PAUSED = "Paused"
    HALTED = "Halted"
    HEALTH_CHECK_PAUSED = "HealthCheckPaused"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


_STATUSES = frozenset(s.value for s in ConditionStatus)


@dataclass(frozen=True, slots=True)
class Condition:
    """A kmodules condition (the fields this system reads)."""

    type: str
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    observed_generation: int | None = None
    last_transition_time: str | None = None


class Conditions:
    """Lookups over a condition list; the first condition of a type counts (as in kmodules)."""

    def __init__(self, conditions: Iterable[Condition]) -> None:
        self._by_type: dict[str, Condition] = {}
        for condition in conditions:
            self._by_type.setdefault(condition.type, condition)

    def has(self, kind: str) -> bool:
        return kind in self._by_type

    def get(self, kind: str) -> Condition | None:
        return self._by_type.get(kind)

    def is_true(self, kind: str) -> bool:
        found = self._by_type.get(kind)
        return found is not None and found.status is ConditionStatus.TRUE

    def is_false(self, kind: str) -> bool:
        found = self._by_type.get(kind)
        return found is not None and found.status is ConditionStatus.FALSE


def derive_phase(conditions: Iterable[Condition]) -> DatabasePhase:
    """KubeDB's phase from a database's conditions (`PhaseFromConditionV1`, reference §2)."""
    c = Conditions(conditions)
    if c.is_true(ConditionType.HEALTH_CHECK_PAUSED):
        return DatabasePhase.UNKNOWN
    phase = DatabasePhase.UNSET
    if c.is_true(ConditionType.PROVISIONING_STARTED):
        phase = DatabasePhase.PROVISIONING
    if c.is_true(ConditionType.HALTED):
        return DatabasePhase.HALTED
    if c.is_true(ConditionType.DATA_RESTORE_STARTED) and not c.has(ConditionType.DATA_RESTORED):
        return DatabasePhase.DATA_RESTORING
    if c.is_false(ConditionType.DATA_RESTORED):
        return DatabasePhase.NOT_READY
    if c.is_true(ConditionType.PROVISIONED):
        # Failures before the first Provisioned=True never show as NotReady or Critical.
        if c.is_false(ConditionType.ACCEPTING_CONNECTION):
            return DatabasePhase.NOT_READY
        if c.is_false(ConditionType.REPLICA_READY) or c.is_false(ConditionType.READY):
            return DatabasePhase.CRITICAL
        if c.is_true(ConditionType.READY):
            return DatabasePhase.READY
    return phase  # Paused has no effect on the phase


def parse_phase(raw: object) -> DatabasePhase:
    """A reported phase; anything unrecognised counts as Unknown (never a crash)."""
    if raw is None:
        return DatabasePhase.UNSET
    if not isinstance(raw, str):
        return DatabasePhase.UNKNOWN
    try:
        return DatabasePhase(raw)
    except ValueError:
        return DatabasePhase.UNKNOWN


_HEALTH = {
    DatabasePhase.READY: HealthStatus.HEALTHY,
    DatabasePhase.CRITICAL: HealthStatus.DEGRADED,
    DatabasePhase.NOT_READY: HealthStatus.UNHEALTHY,
}


def health_status(phase: DatabasePhase) -> HealthStatus:
    return _HEALTH.get(phase, HealthStatus.UNKNOWN)


# Lifecycle statuses an active operation sets and ends; the phase does not move them.
OPERATION_STATUSES = frozenset(
    {
        DatabaseStatus.PENDING,
        DatabaseStatus.PROVISIONING,
        DatabaseStatus.UPDATING,
        DatabaseStatus.SCALING,
        DatabaseStatus.PAUSING,
        DatabaseStatus.RESUMING,
    }
)
_SERVING = frozenset({DatabasePhase.READY, DatabasePhase.CRITICAL, DatabasePhase.NOT_READY})
_BUILDING = frozenset({DatabasePhase.PROVISIONING, DatabasePhase.DATA_RESTORING})


def lifecycle_status(
    phase: DatabasePhase, *, current: DatabaseStatus, operation_active: bool
) -> DatabaseStatus:
    """The API `status` the status sync should store, given the observed phase.

    - `deleting`/`deleted` belong to the delete path; an active operation's status to it.
    - Ready, Critical and NotReady are `running` (health says how well); Halted is `paused`;
      Provisioning and DataRestoring are `provisioning`, except that a `failed` database
      stays failed until it actually serves.
    - Unknown (health checks paused) and an unset phase say nothing: keep `current`.
    """
    if current in (DatabaseStatus.DELETING, DatabaseStatus.DELETED):
        return current
    if operation_active and current in OPERATION_STATUSES:
        return current
    if phase in _SERVING:
        return DatabaseStatus.RUNNING
    if phase is DatabasePhase.HALTED:
        return DatabaseStatus.PAUSED
    if phase in _BUILDING and current is not DatabaseStatus.FAILED:
        return DatabaseStatus.PROVISIONING
    return current


@dataclass(frozen=True, slots=True)
class ObservedDatabase:
    """What the status of one database CR says."""

    raw_phase: str
    phase: DatabasePhase
    conditions: tuple[Condition, ...]
    generation: int | None
    observed_generation: int | None

    @property
    def health(self) -> HealthStatus:
        return health_status(self.phase)

    @property
    def is_current(self) -> bool:
        """The operator has seen the latest spec (trust the phase only then, §2)."""
        return self.generation is not None and self.observed_generation == self.generation

    @property
    def paused(self) -> bool:
        """An OpsRequest is working on the database (`Paused=True`, §5.1)."""
        return Conditions(self.conditions).is_true(ConditionType.PAUSED)


def parse_conditions(raw: object) -> tuple[Condition, ...]:
    """kmodules conditions from JSON; entries without a type or a valid status are skipped."""
    if not isinstance(raw, list):
        return ()
    parsed = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        kind, status = item.get("type"), item.get("status")
        if not isinstance(kind, str) or status not in _STATUSES:
            continue
        parsed.append(
            Condition(
                type=kind,
                status=ConditionStatus(status),
                reason=_text(item.get("reason")),
                message=_text(item.get("message")),
                observed_generation=_int(item.get("observedGeneration")),
                last_transition_time=_text(item.get("lastTransitionTime")) or None,
            )
        )
    return tuple(parsed)


def observe_database(obj: Mapping[str, Any]) -> ObservedDatabase:
    """Read a database CR's status; the reported phase wins, else it is derived."""
    status = _mapping(obj.get("status"))
    conditions = parse_conditions(status.get("conditions"))
    raw_phase = _text(status.get("phase"))
    phase = parse_phase(raw_phase)
    if phase is DatabasePhase.UNSET and conditions:
        phase = derive_phase(conditions)
    return ObservedDatabase(
        raw_phase=raw_phase,
        phase=phase,
        conditions=conditions,
        generation=_int(_mapping(obj.get("metadata")).get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
    )


class OpsRequestPhase(StrEnum):
    UNSET = ""
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    WAITING_FOR_APPROVAL = "WaitingForApproval"
    APPROVED = "Approved"
    DENIED = "Denied"


class OpsOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Skipped: a newer request of the same type for the database replaced it; submit anew.
    SUPERSEDED = "superseded"


_OUTCOMES = {
    OpsRequestPhase.SUCCESSFUL: OpsOutcome.SUCCEEDED,
    OpsRequestPhase.FAILED: OpsOutcome.FAILED,
    OpsRequestPhase.DENIED: OpsOutcome.FAILED,
    OpsRequestPhase.SKIPPED: OpsOutcome.SUPERSEDED,
}


def ops_outcome(phase: OpsRequestPhase | str | None) -> OpsOutcome:
    """Unset, Pending, Progressing, approval states and anything unknown: still in progress
    (the operation's deadline bounds the wait)."""
    try:
        parsed = OpsRequestPhase(phase or "")
    except ValueError:
        return OpsOutcome.IN_PROGRESS
    return _OUTCOMES.get(parsed, OpsOutcome.IN_PROGRESS)


@dataclass(frozen=True, slots=True)
class ObservedOpsRequest:
    raw_phase: str
    outcome: OpsOutcome
    conditions: tuple[Condition, ...]

    @property
    def failure_message(self) -> str | None:
        """The `Failed` condition's message (OpsRequests have no `status.reason`, §5.4)."""
        return ops_failure_message(self.conditions)


def ops_failure_message(conditions: Iterable[Condition]) -> str | None:
    failed = Conditions(conditions).get("Failed")
    if failed is None:
        return None
    return failed.message or failed.reason or "the OpsRequest failed"


def observe_ops_request(obj: Mapping[str, Any]) -> ObservedOpsRequest:
    status = _mapping(obj.get("status"))
    raw_phase = _text(status.get("phase"))
    return ObservedOpsRequest(
        raw_phase=raw_phase,
        outcome=ops_outcome(raw_phase),
        conditions=parse_conditions(status.get("conditions")),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
