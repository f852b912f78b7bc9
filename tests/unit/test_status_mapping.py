"""From KubeDB's conditions and phases to the API's status and health_status, and OpsRequest
phases to operation outcomes (reference §2 and §5.4)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain import status_mapping as sm
from app.domain.databases import DatabaseStatus, HealthStatus
from app.domain.status_mapping import Condition, ConditionStatus, DatabasePhase, OpsOutcome

T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def conditions(**statuses: ConditionStatus) -> list[Condition]:
    return [Condition(type=kind, status=status) for kind, status in statuses.items()]


PROVISIONED = {
    "ProvisioningStarted": T,
    "ReplicaReady": T,
    "AcceptingConnection": T,
    "Ready": T,
    "Provisioned": T,
}

PHASES = [
    ("no conditions", {}, DatabasePhase.UNSET),
    ("provisioning started", {"ProvisioningStarted": T}, DatabasePhase.PROVISIONING),
    (
        "health checks paused win over everything",
        {**PROVISIONED, "HealthCheckPaused": T},
        DatabasePhase.UNKNOWN,
    ),
    ("halted", {**PROVISIONED, "Halted": T}, DatabasePhase.HALTED),
    (
        "restore under way",
        {"ProvisioningStarted": T, "DataRestoreStarted": T},
        DatabasePhase.DATA_RESTORING,
    ),
    (
        "restore failed",
        {"ProvisioningStarted": T, "DataRestoreStarted": T, "DataRestored": F},
        DatabasePhase.NOT_READY,
    ),
    (
        "restore done then ready",
        {**PROVISIONED, "DataRestoreStarted": T, "DataRestored": T},
        DatabasePhase.READY,
    ),
    ("ready", PROVISIONED, DatabasePhase.READY),
    (
        "not accepting connections",
        {**PROVISIONED, "AcceptingConnection": F},
        DatabasePhase.NOT_READY,
    ),
    ("a replica down", {**PROVISIONED, "ReplicaReady": F}, DatabasePhase.CRITICAL),
    ("readiness check failing", {**PROVISIONED, "Ready": F}, DatabasePhase.CRITICAL),
    (
        "failures before provisioned stay provisioning",
        {"ProvisioningStarted": T, "AcceptingConnection": F, "ReplicaReady": F, "Ready": F},
        DatabasePhase.PROVISIONING,
    ),
    (
        "ready but not yet provisioned",
        {**PROVISIONED, "Provisioned": F},
        DatabasePhase.PROVISIONING,
    ),
    ("paused does not change the phase", {**PROVISIONED, "Paused": T}, DatabasePhase.READY),
    (
        "unknown statuses are neither true nor false",
        {**PROVISIONED, "Ready": U, "ReplicaReady": U},
        DatabasePhase.PROVISIONING,
    ),
]


@pytest.mark.parametrize(("case", "statuses", "phase"), PHASES, ids=[p[0] for p in PHASES])
def test_the_phase_is_derived_from_conditions_like_kubedb_does(
    case: str, statuses: dict[str, ConditionStatus], phase: DatabasePhase
) -> None:
    assert sm.derive_phase(conditions(**statuses)) is phase


def test_the_normal_provisioning_order_stays_provisioning_until_provisioned() -> None:
    order = ["ProvisioningStarted", "ReplicaReady", "AcceptingConnection", "Ready", "Provisioned"]

    phases = [
        sm.derive_phase(conditions(**dict.fromkeys(order[: i + 1], T))) for i in range(len(order))
    ]

    assert phases == [DatabasePhase.PROVISIONING] * 4 + [DatabasePhase.READY]


def test_the_first_condition_of_a_type_counts() -> None:
    found = [
        Condition("ProvisioningStarted", T),
        Condition("Provisioned", T),
        Condition("Ready", T),
        Condition("Ready", F),
    ]

    assert sm.derive_phase(found) is DatabasePhase.READY


@pytest.mark.parametrize(
    ("phase", "health"),
    [
        (DatabasePhase.READY, HealthStatus.HEALTHY),
        (DatabasePhase.CRITICAL, HealthStatus.DEGRADED),
        (DatabasePhase.NOT_READY, HealthStatus.UNHEALTHY),
        (DatabasePhase.PROVISIONING, HealthStatus.UNKNOWN),
        (DatabasePhase.DATA_RESTORING, HealthStatus.UNKNOWN),
        (DatabasePhase.HALTED, HealthStatus.UNKNOWN),
        (DatabasePhase.UNKNOWN, HealthStatus.UNKNOWN),
        (DatabasePhase.UNSET, HealthStatus.UNKNOWN),
    ],
)
def test_health_status_follows_the_phase(phase: DatabasePhase, health: HealthStatus) -> None:
    assert sm.health_status(phase) is health


LIFECYCLE = [
    (
        "ready is running",
        DatabasePhase.READY,
        DatabaseStatus.PROVISIONING,
        False,
        DatabaseStatus.RUNNING,
    ),
    (
        "critical still serves",
        DatabasePhase.CRITICAL,
        DatabaseStatus.RUNNING,
        False,
        DatabaseStatus.RUNNING,
    ),
    (
        "not ready is running but unhealthy",
        DatabasePhase.NOT_READY,
        DatabaseStatus.RUNNING,
        False,
        DatabaseStatus.RUNNING,
    ),
    (
        "halted is paused",
        DatabasePhase.HALTED,
        DatabaseStatus.RUNNING,
        False,
        DatabaseStatus.PAUSED,
    ),
    (
        "provisioning",
        DatabasePhase.PROVISIONING,
        DatabaseStatus.PENDING,
        False,
        DatabaseStatus.PROVISIONING,
    ),
    (
        "restoring is provisioning",
        DatabasePhase.DATA_RESTORING,
        DatabaseStatus.PENDING,
        False,
        DatabaseStatus.PROVISIONING,
    ),
    (
        "an active operation keeps its status",
        DatabasePhase.READY,
        DatabaseStatus.SCALING,
        True,
        DatabaseStatus.SCALING,
    ),
    (
        "an active create keeps provisioning",
        DatabasePhase.READY,
        DatabaseStatus.PROVISIONING,
        True,
        DatabaseStatus.PROVISIONING,
    ),
    (
        "a leftover operation status heals without an operation",
        DatabasePhase.READY,
        DatabaseStatus.UPDATING,
        False,
        DatabaseStatus.RUNNING,
    ),
    (
        "deleting belongs to the delete path",
        DatabasePhase.READY,
        DatabaseStatus.DELETING,
        False,
        DatabaseStatus.DELETING,
    ),
    (
        "deleted stays deleted",
        DatabasePhase.READY,
        DatabaseStatus.DELETED,
        False,
        DatabaseStatus.DELETED,
    ),
    (
        "failed stays failed while still provisioning",
        DatabasePhase.PROVISIONING,
        DatabaseStatus.FAILED,
        False,
        DatabaseStatus.FAILED,
    ),
    (
        "failed heals once serving",
        DatabasePhase.READY,
        DatabaseStatus.FAILED,
        False,
        DatabaseStatus.RUNNING,
    ),
    (
        "unknown keeps the current status",
        DatabasePhase.UNKNOWN,
        DatabaseStatus.RUNNING,
        False,
        DatabaseStatus.RUNNING,
    ),
    (
        "an unset phase keeps the current status",
        DatabasePhase.UNSET,
        DatabaseStatus.PENDING,
        False,
        DatabaseStatus.PENDING,
    ),
]


@pytest.mark.parametrize(
    ("case", "phase", "current", "active", "expected"), LIFECYCLE, ids=[c[0] for c in LIFECYCLE]
)
def test_the_lifecycle_status_follows_the_phase_unless_an_operation_owns_it(
    case: str,
    phase: DatabasePhase,
    current: DatabaseStatus,
    active: bool,
    expected: DatabaseStatus,
) -> None:
    assert sm.lifecycle_status(phase, current=current, operation_active=active) is expected


@pytest.mark.parametrize(
    ("raw", "phase"),
    [
        ("Ready", DatabasePhase.READY),
        ("", DatabasePhase.UNSET),
        (None, DatabasePhase.UNSET),
        ("Exploding", DatabasePhase.UNKNOWN),
        (7, DatabasePhase.UNKNOWN),
    ],
)
def test_reported_phases_parse_and_odd_ones_become_unknown(
    raw: object, phase: DatabasePhase
) -> None:
    assert sm.parse_phase(raw) is phase


def test_malformed_conditions_are_skipped_not_fatal() -> None:
    raw = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "ReadinessCheckSucceeded",
            "observedGeneration": 3,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        },
        {"type": "Provisioned", "status": "Maybe"},
        {"status": "True"},
        "junk",
    ]

    parsed = sm.parse_conditions(raw)

    assert parsed == (
        Condition(
            type="Ready",
            status=T,
            reason="ReadinessCheckSucceeded",
            observed_generation=3,
            last_transition_time="2026-01-01T00:00:00Z",
        ),
    )
    assert sm.parse_conditions(None) == ()


def kubedb_object(status: dict[str, Any] | None, generation: int = 3) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "orders", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


def test_observing_a_database_trusts_the_reported_phase() -> None:
    observed = sm.observe_database(
        kubedb_object(
            {
                "phase": "Critical",
                "observedGeneration": 3,
                "conditions": [{"type": "Paused", "status": "True"}],
            }
        )
    )

    assert observed.phase is DatabasePhase.CRITICAL
    assert observed.health is HealthStatus.DEGRADED
    assert observed.is_current
    assert observed.paused


def test_observing_a_database_derives_the_phase_when_none_is_reported() -> None:
    raw = [{"type": kind, "status": "True"} for kind in PROVISIONED]

    observed = sm.observe_database(kubedb_object({"conditions": raw, "observedGeneration": 2}))

    assert observed.raw_phase == ""
    assert observed.phase is DatabasePhase.READY
    assert not observed.is_current  # generation 3 not yet observed


def test_a_database_without_status_is_unset_and_unknown() -> None:
    observed = sm.observe_database(kubedb_object(None))

    assert observed.phase is DatabasePhase.UNSET
    assert observed.health is HealthStatus.UNKNOWN
    assert not observed.is_current and not observed.paused


@pytest.mark.parametrize(
    ("phase", "outcome"),
    [
        ("", OpsOutcome.IN_PROGRESS),
        (None, OpsOutcome.IN_PROGRESS),
        ("Pending", OpsOutcome.IN_PROGRESS),
        ("Progressing", OpsOutcome.IN_PROGRESS),
        ("WaitingForApproval", OpsOutcome.IN_PROGRESS),
        ("Approved", OpsOutcome.IN_PROGRESS),
        ("Successful", OpsOutcome.SUCCEEDED),
        ("Failed", OpsOutcome.FAILED),
        ("Denied", OpsOutcome.FAILED),
        ("Skipped", OpsOutcome.SUPERSEDED),
        ("SomethingNew", OpsOutcome.IN_PROGRESS),
    ],
)
def test_opsrequest_phases_map_to_operation_outcomes(
    phase: str | None, outcome: OpsOutcome
) -> None:
    assert sm.ops_outcome(phase) is outcome


def test_a_failed_opsrequest_explains_itself_through_its_failed_condition() -> None:
    observed = sm.observe_ops_request(
        {
            "status": {
                "phase": "Failed",
                "conditions": [
                    {"type": "VerticalScaling", "status": "True"},
                    {
                        "type": "Failed",
                        "status": "False",
                        "reason": "Timeout",
                        "message": "pods did not become ready",
                    },
                ],
            }
        }
    )

    assert observed.outcome is OpsOutcome.FAILED
    assert observed.failure_message == "pods did not become ready"


def test_a_running_opsrequest_has_no_failure_message() -> None:
    observed = sm.observe_ops_request({"status": {"phase": "Progressing"}})

    assert observed.outcome is OpsOutcome.IN_PROGRESS
    assert observed.failure_message is None
    assert sm.observe_ops_request({}).raw_phase == ""
