"""Typed operations: for each operation type, the model of its input (what the submitter
asks for, stored as the operation's `desired_state`) and of its step state (the handler's
progress marker, stored as `state`), tied together by an `OperationKind`.

    OperationKind[InputT, StateT]   type name + input model + state model
    OperationInputs                 every input, a union discriminated on `type`

Stored as before: both are JSON objects in the operation document, written with
`OperationKind.dump_input` / `dump_state` (only the keys that are set, so a document looks
as it did when these were dicts), and read leniently (unknown keys ignored), so documents
written before these models existed still load. The `type` of an input is the operation's
own type: it is never stored inside `desired_state`.

An input says what to do; whether it may be done (a size in the table, a replica rule, a
catalog version) is for the API before submission and for the handler at run time.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter

from app.domain.manifests.desired import DeletionPolicy

Text = Annotated[str, Field(strict=True, min_length=1)]


class OperationInput(BaseModel):
    """Base of every input model: frozen, unknown keys of old documents ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class StepState(BaseModel):
    """Base of every step-state model: frozen (a step saves a changed copy)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class NoInput(OperationInput):
    """An operation that takes no input (and a type registered without models)."""


class NoState(StepState):
    """A handler that keeps no step state."""


InputT = TypeVar("InputT", bound=OperationInput)
StateT = TypeVar("StateT", bound=StepState)


@dataclass(frozen=True, slots=True)
class OperationKind(Generic[InputT, StateT]):
    """One operation type: its name and its two models. Handlers register by kind, and
    submitters build the kind's input, so mypy checks one against the other."""

    type: str
    input: builtins.type[InputT]
    state: builtins.type[StateT]

    def read_input(self, desired_state: Mapping[str, Any]) -> InputT:
        """Raises pydantic's `ValidationError` for a document that does not fit."""
        return self.input.model_validate({**desired_state, "type": self.type})

    def read_state(self, state: Mapping[str, Any]) -> StateT:
        return self.state.model_validate(state)

    def dump_input(self, value: InputT) -> dict[str, Any]:
        return _dump(value)

    def dump_state(self, value: StateT) -> dict[str, Any]:
        return _dump(value)


def _dump(value: BaseModel) -> dict[str, Any]:
    return value.model_dump(mode="json", exclude_none=True, exclude={"type"})


# --- drift fixes: what the cluster showed (see services/handlers/changes.py) ---------------


class ObservedReplicas(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    replicas: StrictInt


class ObservedStorage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    storage_gb: StrictInt


class ObservedVersion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    version: Text


class ObservedResources(BaseModel):
    """Resources changed in the cluster: nothing to carry but the fact."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ObservedHalted(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    halted: StrictBool


# --- inputs ------------------------------------------------------------------------------


class RestoreSource(BaseModel):
    """Where a restore's data comes from: a Snapshot (or the newest, `latest`) of a
    repository in the source database's namespace, resolved by the API from the user's
    `restore_from` or `backup_id`. A point-in-time source (`point_in_time` set) names the
    source's archiver repositories instead: `repository` its full backups (`<src>-full`),
    `manifest_repository` its manifests, `snapshot` its incremental Snapshot."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    database_id: Text
    namespace: Text
    repository: Text
    snapshot: Text
    backup_id: Text | None = None
    point_in_time: datetime | None = None
    manifest_repository: Text | None = None


class CreateInput(OperationInput):
    type: Literal["create"] = "create"
    # The basic-auth secret the API wrote for a user's own password (decision 19).
    auth_secret_name: Text | None = None
    storage_class: Text | None = None
    # Set: the new database starts from this data (restore, clone).
    restore: RestoreSource | None = None


class DeleteInput(OperationInput):
    type: Literal["delete"] = "delete"
    # None: the record's own deletion policy.
    deletion_policy: DeletionPolicy | None = None
    # Set: this backup record (type final) is taken first; the delete waits for it.
    final_backup_id: Text | None = None


class ScaleHorizontalInput(OperationInput):
    type: Literal["scale_horizontal"] = "scale_horizontal"
    replicas: StrictInt
    shards: StrictInt | None = None
    observed: ObservedReplicas | None = None


class ScaleVerticalInput(OperationInput):
    type: Literal["scale_vertical"] = "scale_vertical"
    size: Text
    observed: ObservedResources | None = None


class ExpandStorageInput(OperationInput):
    type: Literal["expand_storage"] = "expand_storage"
    storage_gb: StrictInt
    # "Online" or "Offline" (KubeDB's volume expansion mode); None: Online.
    mode: Text | None = None
    observed: ObservedStorage | None = None


class UpgradeVersionInput(OperationInput):
    type: Literal["upgrade_version"] = "upgrade_version"
    # Older documents name it `version`; it is stored as `target_version`.
    target_version: Text = Field(validation_alias=AliasChoices("target_version", "version"))
    observed: ObservedVersion | None = None


class RestartInput(OperationInput):
    type: Literal["restart"] = "restart"


class RotateCredentialsInput(OperationInput):
    type: Literal["rotate_credentials"] = "rotate_credentials"
    secret_name: Text | None = None


class PauseInput(OperationInput):
    type: Literal["pause"] = "pause"
    observed: ObservedHalted | None = None


class ResumeInput(OperationInput):
    type: Literal["resume"] = "resume"
    observed: ObservedHalted | None = None


class UpdateInput(OperationInput):
    """The PATCH's fields, only those given (an unknown one is refused, not ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["update"] = "update"
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    monitoring_enabled: StrictBool | None = None
    deletion_protection: StrictBool | None = None
    backup_enabled: StrictBool | None = None
    backup_schedule: str | None = None
    backup_retention_days: StrictInt | None = None
    backup_retention_count: StrictInt | None = None
    backup_storage: str | None = None
    pitr_enabled: StrictBool | None = None
    storage_gb: StrictInt | None = None
    size: Text | None = None
    replicas: StrictInt | None = None
    version: Text | None = None


class BackupInput(OperationInput):
    type: Literal["backup"] = "backup"
    # The backup record the operation fills (made with the operation, status pending).
    backup_id: Text


class RestoreInput(OperationInput):
    """In place: the database's own data replaced by a backup's."""

    type: Literal["restore"] = "restore"
    source: RestoreSource


OpsRequestInput = (
    ScaleHorizontalInput
    | ScaleVerticalInput
    | ExpandStorageInput
    | UpgradeVersionInput
    | RestartInput
    | RotateCredentialsInput
)
OperationInputs = Annotated[
    CreateInput
    | DeleteInput
    | OpsRequestInput
    | PauseInput
    | ResumeInput
    | UpdateInput
    | BackupInput
    | RestoreInput,
    Field(discriminator="type"),
]
_INPUTS: TypeAdapter[Any] = TypeAdapter(OperationInputs)


def input_of(op_type: str, desired_state: Mapping[str, Any]) -> OperationInput:
    """Any database operation's input, chosen by its type (the discriminated union).
    Raises `ValidationError` for a type without a model or a document that does not fit."""
    value: OperationInput = _INPUTS.validate_python({**desired_state, "type": op_type})
    return value


# --- step states -------------------------------------------------------------------------


class ProvisionState(StepState):
    """create and delete: `wait` once the objects are created (or deleted)."""

    step: str | None = None
    # create: when the database must be Ready (stored timestamp text).
    ready_by: str | None = None
    # delete with a final backup: its BackupSession (step "backup").
    session_name: str | None = None


class HaltState(StepState):
    """pause and resume."""

    step: str | None = None  # "patch", then "wait"
    return_to: str | None = None


class OpsRequestState(StepState):
    """A single-OpsRequest operation."""

    step: str | None = None  # "submit", then "wait"
    attempt: int = 1
    return_to: str | None = None
    description: str | None = None


class PlannedChange(BaseModel):
    """One step of an update's plan: the settings, or one OpsRequest change."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    kind: Literal["settings", "ops"]
    description: str = ""
    # settings: the new values.
    values: dict[str, Any] | None = None
    # ops: the operation type and its normalised target (that type's input fields).
    type: str | None = None
    target: dict[str, Any] | None = None


class UpdateState(StepState):
    plan: list[PlannedChange] | None = None
    index: int = 0
    step: str | None = None  # "start", then per change "submit" / "wait"
    attempt: int = 1
    return_to: str | None = None
    applied: list[str] = Field(default_factory=list)


class BackupState(StepState):
    step: str | None = None  # "submit", then "wait"
    session_name: str | None = None


class RestoreState(StepState):
    step: str | None = None  # "submit", then "wait", then "resume"
    session_name: str | None = None
    return_to: str | None = None
    error: str | None = None
    """Set when the restore failed: the schedule is resumed, then the operation fails."""


# --- the kinds ---------------------------------------------------------------------------

CREATE = OperationKind("create", CreateInput, ProvisionState)
DELETE = OperationKind("delete", DeleteInput, ProvisionState)
SCALE_HORIZONTAL = OperationKind("scale_horizontal", ScaleHorizontalInput, OpsRequestState)
SCALE_VERTICAL = OperationKind("scale_vertical", ScaleVerticalInput, OpsRequestState)
EXPAND_STORAGE = OperationKind("expand_storage", ExpandStorageInput, OpsRequestState)
UPGRADE_VERSION = OperationKind("upgrade_version", UpgradeVersionInput, OpsRequestState)
RESTART = OperationKind("restart", RestartInput, OpsRequestState)
ROTATE_CREDENTIALS = OperationKind("rotate_credentials", RotateCredentialsInput, OpsRequestState)
PAUSE = OperationKind("pause", PauseInput, HaltState)
RESUME = OperationKind("resume", ResumeInput, HaltState)
UPDATE = OperationKind("update", UpdateInput, UpdateState)
BACKUP = OperationKind("backup", BackupInput, BackupState)
RESTORE = OperationKind("restore", RestoreInput, RestoreState)

DATABASE_KINDS: tuple[OperationKind[Any, Any], ...] = (
    CREATE,
    DELETE,
    SCALE_HORIZONTAL,
    SCALE_VERTICAL,
    EXPAND_STORAGE,
    UPGRADE_VERSION,
    RESTART,
    ROTATE_CREDENTIALS,
    PAUSE,
    RESUME,
    UPDATE,
    BACKUP,
    RESTORE,
)
