"""The table columns of the administration commands' answers (providers, API keys, quotas,
audit entries) and of `db status`, added to `output.COLUMNS` when a command module that
prints them is imported."""

from __future__ import annotations

from typing import Any

from kdb.cli import output
from kdb.cli.output import Cell, Row


def _field(name: str) -> Cell:
    return lambda row: row.get(name)


def _yes(name: str) -> Cell:
    return lambda row: "yes" if row.get(name) else ""


def _conditions(row: dict[str, Any]) -> str:
    """`Type=Status` for each condition, the reason of one that is not True beside it."""
    return ", ".join(
        f"{c.get('type')}={c.get('status')}"
        + (f" ({c['reason']})" if c.get("status") != "True" and c.get("reason") else "")
        for c in row.get("conditions") or []
    )


def _capacity(resource: str) -> Cell:
    """`allocated/allocatable` of one resource of a provider."""

    def cell(row: Row) -> str:
        found: dict[str, Any] = (row.get("capacity") or {}).get(resource) or {}
        return f"{found.get('allocated', 0):g}/{found.get('allocatable', 0):g}"

    return cell


def limit(used: Any, most: Any) -> str:
    """A usage beside its limit: `2/5`, or `2/-` when unlimited."""
    shown = "-" if most is None else f"{most:g}"
    return f"{used:g}/{shown}"


def _quota(used: str, most: str) -> Cell:
    return lambda row: limit(
        (row.get("usage") or {}).get(used, 0), (row.get("quota") or {}).get(most)
    )


COLUMNS: dict[str, list[tuple[str, Cell, bool]]] = {
    "provider": [
        ("NAME", _field("name"), False),
        ("REGION", _field("region"), False),
        ("ZONE", _field("availability_zone"), False),
        ("CONNECTION", _field("connection"), False),
        ("CPU", _capacity("cpu"), False),
        ("MEMORY GB", _capacity("memory"), False),
        ("STORAGE GB", _capacity("storage"), False),
        ("ACTIVE", _yes("is_active"), False),
        ("MAINTENANCE", _yes("is_maintenance"), False),
        ("ID", _field("id"), True),
        ("PRIORITY", _field("priority"), True),
        ("DOMAIN", _field("domain"), True),
        ("TAGS", lambda row: ",".join(row.get("tags") or []), True),
    ],
    "api_key": [
        ("ID", _field("id"), False),
        ("NAME", _field("name"), False),
        ("ROLE", _field("role"), False),
        ("DOMAIN", _field("domain"), False),
        ("PROJECT", _field("project"), False),
        ("STATUS", _field("status"), False),
        ("LAST USED", _field("last_used_at"), False),
        ("PREFIX", _field("key_prefix"), True),
        ("CREATED BY", _field("created_by"), True),
        ("CREATED", _field("created_at"), True),
        ("REVOKED", _field("revoked_at"), True),
    ],
    "quota": [
        ("DOMAIN", _field("domain"), False),
        ("PROJECT", _field("project"), False),
        ("DATABASES", _quota("databases", "max_databases"), False),
        ("CPU", _quota("cpu_cores", "max_cpu_cores"), False),
        ("MEMORY GB", _quota("memory_gb", "max_memory_gb"), False),
        ("STORAGE GB", _quota("storage_gb", "max_storage_gb"), False),
        ("UPDATED", _field("updated_at"), True),
    ],
    "audit": [
        ("TIME", _field("created_at"), False),
        ("OUTCOME", _field("outcome"), False),
        ("ACTION", _field("action"), False),
        ("TARGET", _field("target"), False),
        ("ACTOR", _field("actor_key_id"), False),
        ("DOMAIN", _field("domain"), False),
        ("PROJECT", _field("project"), False),
        ("ROLE", _field("actor_role"), True),
        ("SCOPE", _field("scope"), True),
        ("CLIENT", _field("client"), True),
        ("REQUEST", _field("request_id"), True),
    ],
    "status": [
        ("STATUS", _field("status"), False),
        ("HEALTH", _field("health_status"), False),
        ("PHASE", _field("phase"), False),
        ("READY", lambda row: f"{row.get('ready_replicas')}/{row.get('desired_replicas')}", False),
        (
            "ENDPOINT",
            lambda row: row.get("endpoint") and f"{row['endpoint']}:{row.get('port')}",
            False,
        ),
        ("SYNCED", _field("last_sync_at"), False),
        ("CONDITIONS", _conditions, True),
        ("ID", _field("id"), True),
    ],
}

output.COLUMNS.update(COLUMNS)
