"""What the status sync writes: observed fields always, the lifecycle status only where no
operation and no user intent owns it."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain import status_mapping, sync
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.workers.membership import owner_of


def record(**fields: Any) -> Database:
    values: dict[str, Any] = dict(
        name="orders",
        domain="acme",
        project="shop",
        engine="postgres",
        version="16.13",
        replicas=3,
        status=DatabaseStatus.RUNNING,
        phase="Ready",
        health_status=HealthStatus.HEALTHY,
        ready_replicas=3,
    )
    values.update(fields)
    return Database(**values)


def cr(phase: str, *conditions: tuple[str, str]) -> status_mapping.ObservedDatabase:
    return status_mapping.observe_database(
        {
            "metadata": {"generation": 2},
            "status": {
                "phase": phase,
                "observedGeneration": 2,
                "conditions": [
                    {"type": kind, "status": state, "reason": f"{kind}{state}", "message": "m"}
                    for kind, state in conditions
                ],
            },
        }
    )


def test_a_database_turning_critical_is_written_degraded_and_keeps_its_status() -> None:
    changes = sync.sync_fields(
        record(), cr("Critical", ("ReplicaReady", "False")), operation_active=False
    )

    assert changes == {
        "phase": "Critical",
        "health_status": HealthStatus.DEGRADED,
        "conditions": [
            {
                "type": "ReplicaReady",
                "status": "False",
                "reason": "ReplicaReadyFalse",
                "message": "m",
            }
        ],
        "message": "the cluster reports phase Critical; ReplicaReady False (ReplicaReadyFalse): m",
    }


def test_not_ready_counts_no_ready_replicas_and_ready_counts_them_all() -> None:
    down = sync.sync_fields(record(), cr("NotReady"), operation_active=False)
    up = sync.sync_fields(
        record(phase="NotReady", health_status=HealthStatus.UNHEALTHY, ready_replicas=0),
        cr("Ready"),
        operation_active=False,
    )

    assert (down["health_status"], down["ready_replicas"]) == (HealthStatus.UNHEALTHY, 0)
    assert (up["health_status"], up["ready_replicas"]) == (HealthStatus.HEALTHY, 3)


def test_nothing_is_written_when_the_cluster_says_what_the_record_holds() -> None:
    assert sync.sync_fields(record(), cr("Ready"), operation_active=False) == {}


@pytest.mark.parametrize(
    ("status", "phase", "active", "expected"),
    [
        (DatabaseStatus.SCALING, "Ready", True, DatabaseStatus.SCALING),
        (DatabaseStatus.SCALING, "Ready", False, DatabaseStatus.RUNNING),
        (DatabaseStatus.PAUSING, "Halted", False, DatabaseStatus.PAUSED),
        (DatabaseStatus.FAILED, "Critical", False, DatabaseStatus.RUNNING),
        (DatabaseStatus.FAILED, "Provisioning", False, DatabaseStatus.FAILED),
        # Running and paused are the user's intent: a halt behind our back is drift.
        (DatabaseStatus.RUNNING, "Halted", False, DatabaseStatus.RUNNING),
        (DatabaseStatus.PAUSED, "Ready", False, DatabaseStatus.PAUSED),
        (DatabaseStatus.DELETING, "Ready", False, DatabaseStatus.DELETING),
    ],
)
def test_the_lifecycle_status_moves_only_where_no_one_else_owns_it(
    status: DatabaseStatus, phase: str, active: bool, expected: DatabaseStatus
) -> None:
    changes = sync.sync_fields(
        record(status=status, phase=None), cr(phase), operation_active=active
    )

    assert changes.get("status", status) is expected
    if expected is not status:
        assert f"phase {phase}" in changes["message"]


def test_each_key_has_one_owner_and_only_a_leavers_keys_move() -> None:
    keys = [f"db-{i:04d}" for i in range(3000)]
    three = ["a", "b", "c"]
    before = {key: owner_of(key, three) for key in keys}
    after = {key: owner_of(key, ["a", "c"]) for key in keys}

    shares = {m: sum(1 for o in before.values() if o == m) for m in three}
    assert all(800 < share < 1200 for share in shares.values()), shares
    assert all(after[k] == before[k] for k in keys if before[k] != "b")
    assert {after[k] for k in keys if before[k] == "b"} == {"a", "c"}
    assert owner_of("db-1", []) is None
