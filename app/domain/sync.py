"""What the status sync writes to a Database record, given what its CR says.

    sync_fields(record, observed, operation_active=...) -> the fields that changed

Observed fields (`phase`, `health_status`, `ready_replicas`, `conditions`) follow the CR
always. The lifecycle `status` moves only where no one else owns it:

- an active operation owns its database's status (`scaling`, `updating`, ...);
- `running` and `paused` are the user's intent: a CR halted or resumed behind the
  platform's back is drift, which the reconciler fixes, not a new status;
- a transitional status left behind with no operation (`scaling` after a crash, `pausing`
  after a failed hook) and `failed` follow the phase (`status_mapping.lifecycle_status`):
  serving -> running, Halted -> paused, building -> provisioning.

`message` follows the cluster when the health changes (the phase and every condition that
is not True, with its reason and message), and with a lifecycle change; otherwise it keeps
what the last operation said.

Where it serves (`endpoint`, `port`) and what serves it (`data_plane`, `server_version`)
follow its AppBinding (`domain.data_plane`) when there is one; a halted database has none,
and keeps what was last seen.

Ready replicas: all of them when the phase is Ready, none when Halted or NotReady;
otherwise (Critical, Provisioning) KubeDB reports no count and the record keeps its own.
Must not: touch the store or the cluster.
"""

from __future__ import annotations

from typing import Any

from app.domain import data_plane, status_mapping
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import connection
from app.domain.status_mapping import DatabasePhase, ObservedDatabase

_FOLLOWS_PHASE = status_mapping.OPERATION_STATUSES | {DatabaseStatus.FAILED}


def conditions_of(observed: ObservedDatabase) -> list[dict[str, str]]:
    """The conditions as the record keeps them (what a user needs to read them)."""
    return [
        {"type": c.type, "status": c.status.value, "reason": c.reason, "message": c.message}
        for c in observed.conditions
    ]


def observed_fields(observed: ObservedDatabase) -> dict[str, Any]:
    """`phase`, `health_status` and `conditions` as the CR says them (what an operation step
    that read the CR writes beside its own fields)."""
    return {
        "phase": observed.raw_phase or None,
        "health_status": observed.health,
        "conditions": conditions_of(observed),
    }


def ready_replicas(database: Database, observed: ObservedDatabase) -> int:
    if observed.phase is DatabasePhase.READY:
        return database.replicas
    if observed.phase in (DatabasePhase.HALTED, DatabasePhase.NOT_READY):
        return 0
    return database.ready_replicas


def lifecycle(
    database: Database, observed: ObservedDatabase, *, operation_active: bool
) -> DatabaseStatus:
    if operation_active or database.status not in _FOLLOWS_PHASE:
        return database.status
    return status_mapping.lifecycle_status(
        observed.phase, current=database.status, operation_active=False
    )


def served_fields(
    engine: str, *, name: str, namespace: str, binding: data_plane.Binding | None
) -> dict[str, Any]:
    """`endpoint`, `port`, `data_plane`, `server_version` as the AppBinding says; without
    one, only the Service's DNS name and port."""
    service = connection.endpoint(engine, name=name, namespace=namespace)
    if binding is None:
        return {"endpoint": service.host, "port": service.port}
    return data_plane.record_fields(binding, service_host=service.host, default_port=service.port)


def _served(database: Database, binding: data_plane.Binding) -> dict[str, Any]:
    name, namespace = database.kubedb_resource_name or database.name, database.namespace or ""
    return served_fields(database.engine, name=name, namespace=namespace, binding=binding)


def sync_fields(
    database: Database,
    observed: ObservedDatabase,
    *,
    operation_active: bool,
    binding: data_plane.Binding | None = None,
) -> dict[str, Any]:
    """The record's fields that differ from what the CR (and its AppBinding, when there is
    one) says; empty when nothing changed."""
    wanted: dict[str, Any] = {
        "phase": observed.raw_phase or None,
        "health_status": observed.health,
        "ready_replicas": ready_replicas(database, observed),
        "conditions": conditions_of(observed),
        **(_served(database, binding) if binding is not None else {}),
    }
    status = lifecycle(database, observed, operation_active=operation_active)
    if status is not database.status:
        wanted["status"] = status
        wanted["message"] = f"{status.value}: {describe(observed)}"
    elif observed.health != database.health_status and not operation_active:
        wanted["message"] = describe(observed)
    return {key: value for key, value in wanted.items() if getattr(database, key) != value}


def describe(observed: ObservedDatabase) -> str:
    """What the cluster says, for the record's `message`: the phase, and the conditions that
    are not True (what is wrong) with their reason and message."""
    text = f"the cluster reports phase {observed.raw_phase or 'not set'}"
    failing = [c for c in observed.conditions if c.status.value != "True"]
    if failing:
        text += "; " + "; ".join(
            f"{c.type} {c.status.value}"
            + (f" ({c.reason})" if c.reason else "")
            + (f": {c.message}" if c.message else "")
            for c in failing
        )
    return text
