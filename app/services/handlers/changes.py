"""One change that runs as one OpsRequest: what the operation's input asks for (its model in
`app.domain.operation_kinds`), the OpsRequest that carries it out, and what the Database
record gets when it succeeds.

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

from pydantic import ValidationError

from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import JsonObject, ops_requests
from app.domain.manifests.desired import DesiredDatabase
from app.domain.operation_kinds import OpsRequestInput
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
    wanted: OpsRequestInput
    # The record's fields to set once the OpsRequest succeeded.
    record_fields: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    is_noop: bool = False
    # A drift fix: the cluster's current values, as DesiredDatabase fields (see module doc).
    observed: Mapping[str, Any] | None = None

    @property
    def type(self) -> OperationType:
        return OperationType(self.wanted.type)

    @property
    def target(self) -> dict[str, Any]:
        """The normalised target values, as stored (an update keeps them in its plan)."""
        return self.wanted.model_dump(mode="json", exclude_none=True, exclude={"type", "observed"})

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
        try:
            return _manifest(
                self.wanted,
                desired,
                sizes,
                operation_id=operation_id,
                attempt=attempt,
                timeout=timeout,
            )
        except ValueError as exc:  # domain rules (errors.InvalidValue) and bad enum values
            raise steps.PermanentError(str(exc)) from exc

    def to_plan(self) -> kinds.PlannedChange:
        return kinds.PlannedChange(
            kind="ops", type=self.type.value, target=self.target, description=self.description
        )


def _manifest(
    wanted: OpsRequestInput,
    desired: DesiredDatabase,
    sizes: SizeTable,
    *,
    operation_id: str,
    attempt: int,
    timeout: str | None,
) -> JsonObject:
    common: dict[str, Any] = {"operation_id": operation_id, "attempt": attempt, "timeout": timeout}
    match wanted:
        case kinds.ScaleHorizontalInput():
            return ops_requests.horizontal_scaling(
                desired, replicas=wanted.replicas, shards=wanted.shards, **common
            )
        case kinds.ScaleVerticalInput():
            return ops_requests.vertical_scaling(desired, size=sizes.get(wanted.size), **common)
        case kinds.ExpandStorageInput():
            return ops_requests.volume_expansion(
                desired,
                storage_gb=wanted.storage_gb,
                mode=ops_requests.VolumeExpansionMode(wanted.mode or "Online"),
                **common,
            )
        case kinds.UpgradeVersionInput():
            return ops_requests.update_version(
                desired, target_version=wanted.target_version, **common
            )
        case kinds.RestartInput():
            return ops_requests.restart(desired, **common)
        case kinds.RotateCredentialsInput():
            return ops_requests.rotate_auth(desired, secret_name=wanted.secret_name, **common)


def parse(wanted: OpsRequestInput, database: Database, sizes: SizeTable) -> Change:
    """The change an operation's input asks for; PermanentError if it cannot be one."""
    change = _parse(wanted, database, sizes)
    if isinstance(wanted, kinds.RestartInput | kinds.RotateCredentialsInput):
        return change  # no drift fix takes these
    if wanted.observed is None:
        return change
    return _drift_fix(change, wanted.observed.model_dump(), database)


def read(op_type: str, values: Mapping[str, Any]) -> OpsRequestInput:
    """The input of an OpsRequest operation type from stored values (an update's plan);
    PermanentError if they do not fit."""
    if op_type not in OPS_REQUEST_TYPES:
        raise steps.PermanentError(f"{op_type!r} is not an OpsRequest operation")
    try:
        wanted = kinds.input_of(op_type, values)
    except ValidationError as exc:
        raise steps.PermanentError(f"{op_type}: {exc.errors()[0]['msg']}") from exc
    assert isinstance(wanted, OpsRequestInput)
    return wanted


def _parse(wanted: OpsRequestInput, database: Database, sizes: SizeTable) -> Change:
    match wanted:
        case kinds.ScaleHorizontalInput(replicas=replicas, shards=shards):
            return Change(
                wanted,
                {"replicas": replicas},
                f"replicas {database.replicas} -> {replicas}",
                is_noop=replicas == database.replicas and shards is None,
            )
        case kinds.ScaleVerticalInput(size=size):
            try:
                sizes.get(size)
            except ValueError as exc:
                raise steps.PermanentError(str(exc)) from exc
            return Change(
                wanted, {"size": size}, f"size {database.size} -> {size}", size == database.size
            )
        case kinds.ExpandStorageInput(storage_gb=storage):
            return Change(
                wanted,
                {"storage_gb": storage},
                f"storage {database.storage_gb} GB -> {storage} GB",
                is_noop=storage == database.storage_gb,
            )
        case kinds.UpgradeVersionInput(target_version=version):
            return Change(
                wanted,
                {"version": version},
                f"version {database.version} -> {version}",
                is_noop=version == database.version,
            )
        case kinds.RestartInput():
            return Change(wanted, {}, "restart")
        case kinds.RotateCredentialsInput():
            return Change(wanted, {}, "credential rotation")


# For each type a drift fix may take: the observed key, and how the target is named.
_DRIFT_KEYS = {
    OperationType.SCALE_HORIZONTAL: ("replicas", "replicas"),
    OperationType.EXPAND_STORAGE: ("storage_gb", "storage_gb"),
    OperationType.UPGRADE_VERSION: ("version", "target_version"),
}


def _drift_fix(change: Change, observed: Mapping[str, Any], database: Database) -> Change:
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
    value = observed[key]
    target = change.target[target_key]
    return dataclasses.replace(
        change,
        observed={key: value},
        is_noop=value == target,
        description=f"{key.replace('_gb', '')} back to {target} from {value} (changed in the "
        "cluster)",
    )


def from_plan(planned: kinds.PlannedChange, database: Database, sizes: SizeTable) -> Change:
    """A change kept in an update's plan by `Change.to_plan` (its description as it was
    planned: the record has moved on once earlier changes succeeded)."""
    change = parse(read(str(planned.type), planned.target or {}), database, sizes)
    if planned.description:
        change = dataclasses.replace(change, description=planned.description)
    return change
