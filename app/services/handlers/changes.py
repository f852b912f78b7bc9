"""One change that runs as one OpsRequest: what `operation.desired_state` asks for, the
OpsRequest that carries it out, and what the Database record gets when it succeeds.

    operation type       desired_state                         record on success
    scale_horizontal     {"replicas": int, "shards"?: int}      replicas
    scale_vertical       {"size": "<plan name>"}                size
    expand_storage       {"storage_gb": int, "mode"?: "Online" | "Offline"}   storage_gb
    upgrade_version      {"target_version": "<catalog name>"}   version
    restart              {}                                    -
    rotate_credentials   {"secret_name"?: "<secret in the namespace>"}   -

A value equal to the record's is "nothing to do" (`Change.is_noop`); a value the rules
refuse (unknown size, shrinking storage, a replica rule) is a permanent error with the rule's
message. The API validates first; this is what the handlers rely on, not a second API.

A drift fix (the reconciler undoing a change made in the cluster behind the platform's back)
adds `"observed": {...}` to desired_state: the cluster's current value (`replicas`,
`storage_gb`, `version`; `{}` for resources). The record already holds the target, so the
change starts from the observed value instead: that decides "nothing to do", and the
OpsRequest is built on the database as the cluster has it (`DesiredDatabase.as_observed`:
without the creation rules, since a CR changed by hand may break them; the target, the
record's value, is still checked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import JsonObject, ops_requests
from app.domain.manifests.desired import DesiredDatabase
from app.domain.operations import OperationType
from app.domain.sizes import SizeTable
from app.engine import steps

OPS_REQUEST_TYPES = frozenset(ops_requests.FOR_OPERATION)

# The lifecycle status a database shows while the change runs.
STATUS_DURING: dict[OperationType, DatabaseStatus] = {
    OperationType.SCALE_HORIZONTAL: DatabaseStatus.SCALING,
    OperationType.SCALE_VERTICAL: DatabaseStatus.SCALING,
    OperationType.EXPAND_STORAGE: DatabaseStatus.SCALING,
    OperationType.UPGRADE_VERSION: DatabaseStatus.UPDATING,
    OperationType.RESTART: DatabaseStatus.UPDATING,
    OperationType.ROTATE_CREDENTIALS: DatabaseStatus.UPDATING,
}


@dataclass(frozen=True, slots=True)
class Change:
    type: OperationType
    # Normalised target values (JSON-serialisable, so an update can keep its plan in state).
    target: Mapping[str, Any] = field(default_factory=dict)
    # The record's fields to set once the OpsRequest succeeded.
    record_fields: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    is_noop: bool = False
    # A drift fix: the cluster's current values, as DesiredDatabase fields (see module doc).
    observed: Mapping[str, Any] | None = None

    @property
    def ops_type(self) -> ops_requests.OpsRequestType:
        return ops_requests.FOR_OPERATION[self.type]

    def manifest(
        self,
        desired: DesiredDatabase,
        *,
        operation_id: str,
        attempt: int,
        sizes: SizeTable,
        timeout: str | None,
    ) -> JsonObject:
        """The OpsRequest, built on the database as it is now (`desired`; for a drift fix,
        as the cluster has it)."""
        if self.observed:
            try:
                desired = desired.as_observed(**self.observed)
            except ValueError as exc:
                raise steps.PermanentError(str(exc)) from exc
        common: dict[str, Any] = {
            "operation_id": operation_id,
            "attempt": attempt,
            "timeout": timeout,
        }
        try:
            if self.type is OperationType.SCALE_HORIZONTAL:
                return ops_requests.horizontal_scaling(
                    desired,
                    replicas=int(self.target["replicas"]),
                    shards=self.target.get("shards"),
                    **common,
                )
            if self.type is OperationType.SCALE_VERTICAL:
                return ops_requests.vertical_scaling(
                    desired, size=sizes.get(str(self.target["size"])), **common
                )
            if self.type is OperationType.EXPAND_STORAGE:
                return ops_requests.volume_expansion(
                    desired,
                    storage_gb=int(self.target["storage_gb"]),
                    mode=ops_requests.VolumeExpansionMode(self.target.get("mode", "Online")),
                    **common,
                )
            if self.type is OperationType.UPGRADE_VERSION:
                return ops_requests.update_version(
                    desired, target_version=str(self.target["target_version"]), **common
                )
            if self.type is OperationType.RESTART:
                return ops_requests.restart(desired, **common)
            return ops_requests.rotate_auth(
                desired, secret_name=self.target.get("secret_name"), **common
            )
        except ValueError as exc:  # domain rules (errors.InvalidValue) and bad enum values
            raise steps.PermanentError(str(exc)) from exc

    def to_state(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "target": dict(self.target),
            "description": self.description,
        }


def parse(op_type: str, wanted: Mapping[str, Any], database: Database, sizes: SizeTable) -> Change:
    """The change an operation of `op_type` asks for; PermanentError if it cannot be one."""
    try:
        kind = OperationType(op_type)
    except ValueError:
        raise steps.PermanentError(f"{op_type!r} is not an OpsRequest operation") from None
    change = _parse(kind, wanted, database, sizes)
    observed = wanted.get("observed")
    if observed is None:
        return change
    return _drift_fix(change, observed, database)


def _parse(
    kind: OperationType, wanted: Mapping[str, Any], database: Database, sizes: SizeTable
) -> Change:
    if kind is OperationType.SCALE_HORIZONTAL:
        replicas = _int(wanted, "replicas")
        shards = _int(wanted, "shards") if wanted.get("shards") is not None else None
        target: dict[str, Any] = {"replicas": replicas}
        if shards is not None:
            target["shards"] = shards
        return Change(
            kind,
            target,
            {"replicas": replicas},
            f"replicas {database.replicas} -> {replicas}",
            is_noop=replicas == database.replicas and shards is None,
        )
    if kind is OperationType.SCALE_VERTICAL:
        size = _str(wanted, "size")
        try:
            sizes.get(size)
        except ValueError as exc:
            raise steps.PermanentError(str(exc)) from exc
        return Change(
            kind,
            {"size": size},
            {"size": size},
            f"size {database.size} -> {size}",
            is_noop=size == database.size,
        )
    if kind is OperationType.EXPAND_STORAGE:
        storage = _int(wanted, "storage_gb")
        target = {"storage_gb": storage}
        if wanted.get("mode") is not None:
            target["mode"] = _str(wanted, "mode")
        return Change(
            kind,
            target,
            {"storage_gb": storage},
            f"storage {database.storage_gb} GB -> {storage} GB",
            is_noop=storage == database.storage_gb,
        )
    if kind is OperationType.UPGRADE_VERSION:
        version = _str(wanted, "target_version" if "target_version" in wanted else "version")
        return Change(
            kind,
            {"target_version": version},
            {"version": version},
            f"version {database.version} -> {version}",
            is_noop=version == database.version,
        )
    if kind is OperationType.RESTART:
        return Change(kind, {}, {}, "restart")
    if kind is OperationType.ROTATE_CREDENTIALS:
        target = {}
        if wanted.get("secret_name") is not None:
            target["secret_name"] = _str(wanted, "secret_name")
        return Change(kind, target, {}, "credential rotation")
    raise steps.PermanentError(f"{kind.value!r} is not an OpsRequest operation")


# For each type a drift fix may take: the observed key, and how the target is named.
_DRIFT_KEYS = {
    OperationType.SCALE_HORIZONTAL: ("replicas", "replicas"),
    OperationType.EXPAND_STORAGE: ("storage_gb", "storage_gb"),
    OperationType.UPGRADE_VERSION: ("version", "target_version"),
}


def _drift_fix(change: Change, observed: object, database: Database) -> Change:
    if not isinstance(observed, Mapping):
        raise steps.PermanentError("desired_state.observed must be an object")
    if change.type is OperationType.SCALE_VERTICAL:
        return dataclasses.replace(
            change,
            observed={},
            is_noop=False,
            description=f"resources back to size {change.target['size']} (changed in the cluster)",
        )
    keys = _DRIFT_KEYS.get(change.type)
    if keys is None:
        raise steps.PermanentError(f"{change.type.value} does not fix drift")
    key, target_key = keys
    value = observed.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, int | str):
        raise steps.PermanentError(f"desired_state.observed.{key} is missing")
    target = change.target[target_key]
    return dataclasses.replace(
        change,
        observed={key: value},
        is_noop=value == target,
        description=f"{key.replace('_gb', '')} back to {target} from {value} (changed in the "
        "cluster)",
    )


def from_state(state: Mapping[str, Any], database: Database, sizes: SizeTable) -> Change:
    """A change kept in an operation's state by `Change.to_state` (its description as it
    was planned: the record has moved on once earlier changes succeeded)."""
    change = parse(str(state.get("type")), state.get("target") or {}, database, sizes)
    description = state.get("description")
    if isinstance(description, str) and description:
        change = dataclasses.replace(change, description=description)
    return change


def _int(wanted: Mapping[str, Any], key: str) -> int:
    value = wanted.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise steps.PermanentError(f"desired_state.{key} must be a whole number, not {value!r}")
    return value


def _str(wanted: Mapping[str, Any], key: str) -> str:
    value = wanted.get(key)
    if not isinstance(value, str) or not value:
        raise steps.PermanentError(f"desired_state.{key} must be a non-empty string")
    return value
