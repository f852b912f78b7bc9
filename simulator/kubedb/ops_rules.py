"""The OpsRequest webhook's per-type rules that the schema cannot say: the block each type
needs (`spec.configuration` for Reconfigure, `spec.tls` for ReconfigureTLS, ...), and that a
Reconfigure or VerticalScaling block asks for something. KubeDB's ops webhook answers these
as field errors on the block (`spec.configuration: Invalid value: "<name>": ...`), so a
request that could never run is refused instead of staying Pending.

The type itself is an enum of the schema (`ops_schemas.OPS_TYPES`): an unknown type never
reaches this webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# type -> the spec block it needs
_BLOCKS = {
    "UpdateVersion": "updateVersion",
    "HorizontalScaling": "horizontalScaling",
    "VerticalScaling": "verticalScaling",
    "VolumeExpansion": "volumeExpansion",
    "Reconfigure": "configuration",
    "ReconfigureTLS": "tls",
}
_RECONFIGURATIONS = ("configSecret", "applyConfig", "removeCustomConfig", "tuning", "auth")


def problem(kind: str, spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, KubeDB's message) when the type's block is missing or asks for nothing."""
    op_type = str(spec.get("type"))
    block = _BLOCKS.get(op_type)
    if block is None:
        return None
    value = spec.get(block)
    if value is None:
        return f"spec.{block}", f"`spec.{block}` nil not supported in {op_type} type"
    if op_type == "Reconfigure" and not _asks_reconfiguration(kind, value):
        return (
            "spec.configuration",
            "at least one of `RemoveCustomConfig`, `ConfigSecret` or `ApplyConfig` must be "
            "specified",
        )
    if op_type == "VerticalScaling" and not any(k != "mode" and v for k, v in value.items()):
        return (
            "spec.verticalScaling",
            "at least one component's resources must be present in a vertical scaling ops request",
        )
    return None


def _asks_reconfiguration(kind: str, configuration: Mapping[str, Any]) -> bool:
    if kind == "MongoDBOpsRequest":  # per component: {replicaSet: {applyConfig: ...}, ...}
        return any(
            isinstance(part, Mapping) and _asks_reconfiguration("", part)
            for part in configuration.values()
        )
    return any(configuration.get(key) for key in _RECONFIGURATIONS)
