"""Deletion propagation (`DeleteOptions.propagationPolicy`): which finalizer a DELETE adds.

`Background` (the default) deletes the owner at once and leaves its dependents to the
garbage collector; `Foreground` keeps the owner, marked for deletion with the
`foregroundDeletion` finalizer, until its blocking dependents are gone; `Orphan` marks it
with the `orphan` finalizer until the collector has removed the owner's references from its
dependents. The collector itself is `simulator.gc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import errors

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
POLICIES = ("Background", "Foreground", "Orphan")


def finalizer_for(options: Mapping[str, Any], query_policy: str | None = None) -> str | None:
    """The finalizer a DELETE with these DeleteOptions (or `?propagationPolicy=`) adds."""
    policy = options.get("propagationPolicy") or query_policy
    if policy is None and options.get("orphanDependents") is True:
        policy = "Orphan"
    if policy is None or policy == "Background":
        return None
    if policy not in POLICIES:
        supported = ", ".join(f'"{p}"' for p in POLICIES)
        raise errors.Invalid(
            f'propagationPolicy: Unsupported value: "{policy}": supported values: {supported}',
            causes=[
                errors.Cause(
                    "propagationPolicy",
                    f'Unsupported value: "{policy}": supported values: {supported}',
                    "FieldValueNotSupported",
                )
            ],
        )
    return FOREGROUND if policy == "Foreground" else ORPHAN
