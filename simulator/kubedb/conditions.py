"""Status conditions (kmodules `Condition`) and the phase KubeDB derives from them.

`derive_phase` is `PhaseFromConditionV1` of reference §2, evaluated top-down; the
provisioner steps the conditions and stores the derived phase, as the real operator does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PROVISIONING_ORDER = (
    (
        "ProvisioningStarted",
        "DatabaseProvisioningStartedSuccessfully",
        "The KubeDB operator has started the provisioning of the database",
    ),
    ("ReplicaReady", "AllReplicasReady", "All desired replicas are ready"),
    (
        "AcceptingConnection",
        "DatabaseAcceptingConnectionRequest",
        "The database is accepting client requests",
    ),
    ("Ready", "ReadinessCheckSucceeded", "The database passed its readiness check"),
    ("Provisioned", "DatabaseSuccessfullyProvisioned", "The database is successfully provisioned"),
)


def find(conditions: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def is_true(conditions: Sequence[Mapping[str, Any]], kind: str) -> bool:
    found = find(conditions, kind)
    return found is not None and found.get("status") == "True"


def is_false(conditions: Sequence[Mapping[str, Any]], kind: str) -> bool:
    found = find(conditions, kind)
    return found is not None and found.get("status") == "False"


def set_condition(
    conditions: list[dict[str, Any]],
    kind: str,
    status: str,
    *,
    reason: str,
    message: str,
    now: str,
    generation: int,
) -> None:
    """Add or replace one condition; `lastTransitionTime` moves only when `status` changes."""
    existing = next((c for c in conditions if c.get("type") == kind), None)
    condition: dict[str, Any] = {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now,
    }
    if status == "False":
        condition["severity"] = "Warning"
    if existing is None:
        conditions.append(condition)
        return
    if existing.get("status") == status:
        condition["lastTransitionTime"] = existing.get("lastTransitionTime", now)
    existing.clear()
    existing.update(condition)


def remove_condition(conditions: list[dict[str, Any]], kind: str) -> None:
    conditions[:] = [c for c in conditions if c.get("type") != kind]


def derive_phase(conditions: Sequence[Mapping[str, Any]]) -> str:
    if is_true(conditions, "HealthCheckPaused"):
        return "Unknown"
    phase = "Provisioning" if is_true(conditions, "ProvisioningStarted") else ""
    if is_true(conditions, "Halted"):
        return "Halted"
    if is_true(conditions, "DataRestoreStarted") and find(conditions, "DataRestored") is None:
        return "DataRestoring"
    if is_false(conditions, "DataRestored"):
        return "NotReady"
    if is_true(conditions, "Provisioned"):
        if is_false(conditions, "AcceptingConnection"):
            return "NotReady"
        if is_false(conditions, "ReplicaReady") or is_false(conditions, "Ready"):
            return "Critical"
        if is_true(conditions, "Ready"):
            return "Ready"
    return phase
