"""Typed results of the API (API.md's bodies), tolerant of what a newer server adds.

Every model keeps the fields it does not know (`extra="allow"`), so `model_dump(mode="json")`
gives back the whole answer: the CLI's `-o json` prints that, and an older SDK keeps working
against a newer API. Fields the API may omit have defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ACTIVE_OPERATION_STATUSES = frozenset({"queued", "running", "waiting"})


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The answer as JSON values, unknown fields included."""
        return self.model_dump(mode="json")


M = TypeVar("M", bound=Model)


class Database(Model):
    id: str
    name: str
    domain: str
    project: str
    engine: str
    version: str
    size: str = ""
    storage_gb: int = 0
    replicas: int = 1
    high_availability: bool = False
    status: str = "pending"
    health_status: str = "unknown"
    phase: str | None = None
    ready_replicas: int = 0
    endpoint: str | None = None
    port: int | None = None
    data_plane: str | None = None
    deletion_protection: bool = False
    deletion_policy: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    operation_id: str | None = None
    poll_url: str | None = None
    message: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Condition(Model):
    """One of the KubeDB object's conditions (`status`: True, False or Unknown)."""

    type: str
    status: str
    reason: str = ""
    message: str = ""


class DatabaseStatus(Model):
    """A database's observed state, as the status sync last read it from the cluster (or as
    the API read it now, with `status(..., realtime=True)`)."""

    id: str
    status: str
    health_status: str = "unknown"
    phase: str | None = None
    ready_replicas: int = 0
    desired_replicas: int = 0
    endpoint: str | None = None
    port: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    last_sync_at: datetime | None = None


class BackupStarted(Database):
    """The answer of a backup taken now: the database, its operation, and the backup's id."""

    backup_id: str


class Operation(Model):
    id: str
    database_id: str
    type: str
    status: str
    progress: int = 0
    message: str | None = None
    error_message: str | None = None
    attempts: int = 0
    ops_request_name: str | None = None
    ops_request_phase: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_OPERATION_STATUSES


class Credentials(Model):
    username: str
    password: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    connection_string: str | None = None


class Event(Model):
    id: str
    reason: str
    message: str = ""
    actor: str | None = None
    operation_id: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    created_at: datetime | None = None


class Upgrades(Model):
    current_version: str
    available_upgrades: list[str] = Field(default_factory=list)


class Version(Model):
    engine: str
    version: str
    deprecated: bool = False
    default: bool = False


class Size(Model):
    name: str
    cpu: float
    memory_gib: float
    default: bool = False


class Backup(Model):
    id: str
    database_id: str
    database_name: str = ""
    type: str
    status: str
    storage: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
    size_bytes: int | None = None
    error: str | None = None
    created_at: datetime | None = None


class Gap(Model):
    start: datetime = Field(alias="from")
    to: datetime


class RestoreWindow(Model):
    earliest: datetime
    latest: datetime
    gaps: list[Gap] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a list: its items, and where it sits in the whole."""

    items: list[M]
    total: int
    page: int
    page_size: int

    def to_json(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self.items]


def page_of(body: Any, key: str, model: type[M]) -> Page[M]:
    """A list answer (`{<key>: [...], total, page, page_size}`) as a typed page."""
    return Page(
        items=[model.model_validate(item) for item in body[key]],
        total=int(body["total"]),
        page=int(body["page"]),
        page_size=int(body["page_size"]),
    )
