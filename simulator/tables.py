"""Server-side printing: the `Table` kubectl asks for (`Accept: ...;as=Table;g=meta.k8s.io`)
to print `kubectl get` columns, built from a type's printer columns (`ResourceType.columns`,
the CRDs' additionalPrinterColumns) between Name and Age.

Lists, single objects and watch events (one row each) are served as Tables when asked;
clients that do not ask get plain objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulator.objects import Obj
from simulator.registry import ResourceType

_TABLE = "as=Table"
_META_GROUP = "g=meta.k8s.io"


def wanted(accept: str | None) -> bool:
    return bool(accept) and _TABLE in str(accept) and _META_GROUP in str(accept)


def _lookup(obj: Obj, path: str) -> Any:
    value: Any = obj
    for part in path.strip(".").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """Kubernetes' short duration, simplified: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 180 * 60:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, int | float | str) else str(value)


def table(
    rt: ResourceType,
    objects: list[Obj],
    *,
    resource_version: str | None = None,
    continue_token: str | None = None,
) -> dict[str, Any]:
    columns = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "priority": 0,
            "description": "Name of the object",
        }
    ]
    columns += [
        {
            "name": name,
            "type": "string",
            "format": "",
            "priority": 0,
            "description": f"{name} ({path})",
        }
        for name, path in rt.columns
    ]
    columns.append(
        {
            "name": "Age",
            "type": "string",
            "format": "",
            "priority": 0,
            "description": "Time since the object was created",
        }
    )
    now = datetime.now(UTC)
    rows = []
    for obj in objects:
        md = obj.get("metadata", {})
        cells = [md.get("name", "")]
        cells += [_cell(_lookup(obj, path)) for _, path in rt.columns]
        cells.append(age(md.get("creationTimestamp"), now))
        rows.append(
            {
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": md,
                },
            }
        )
    metadata: dict[str, Any] = {}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    }
