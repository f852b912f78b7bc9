"""Repository ports: what the domain needs from storage, in its own words.

Methods say what the domain needs (`create_active`, `update_if_revision`), never raw filters.
Every method either does all of its write or none of it. Field-level updates (`fields`) set
only the named top-level fields, so two writers of different fields never overwrite each
other; each write bumps `revision` and `updated_at`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from app.domain.api_keys import ApiKey
from app.domain.audit import AuditEntry, AuditScope
from app.domain.backup_storages import BackupStorage
from app.domain.backups import Backup
from app.domain.databases import Database
from app.domain.events import Event
from app.domain.operations import Operation
from app.domain.providers import Provider
from app.domain.quotas import Tenant

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int


class Scanned(Protocol):
    """A record read by `scan_lazily`: its id and revision, the rest parsed on demand."""

    @property
    def id(self) -> str: ...

    @property
    def revision(self) -> int: ...

    def record(self) -> Database: ...


@dataclass(frozen=True, slots=True)
class Fence:
    """The epoch a leader holds for the lease `name`: a write carrying it is refused
    (`errors.Fenced`) once a newer epoch of that name has been taken."""

    name: str
    epoch: int


@dataclass(frozen=True, slots=True)
class DatabaseFilter:
    domain: str | None = None
    project: str | None = None
    engine: str | None = None
    status: str | None = None
    name_prefix: str | None = None
    label: tuple[str, str] | None = None
    provider_id: str | None = None
    # Deleted records are left out unless asked for by `status="deleted"` or this flag.
    include_deleted: bool = False


class DatabaseSortKey(StrEnum):
    """What a database list may be sorted by: fields both stores order the same way
    (lowercase words and fixed-width ISO times compare alike as bytes)."""

    NAME = "name"
    CREATED_AT = "created_at"
    STATUS = "status"
    ENGINE = "engine"


@dataclass(frozen=True, slots=True)
class DatabaseOrder:
    """A database list's order: `key`, then the id in the same direction (a stable order
    for equal keys, so pages neither repeat nor skip a record)."""

    key: DatabaseSortKey = DatabaseSortKey.CREATED_AT
    descending: bool = True

    @classmethod
    def parse(cls, text: str) -> DatabaseOrder:
        """`name` (ascending) or `-name` (descending); raises ValueError for another key."""
        key = DatabaseSortKey(text.removeprefix("-"))
        return cls(key=key, descending=text.startswith("-"))

    def __str__(self) -> str:
        return f"-{self.key.value}" if self.descending else self.key.value


NEWEST_FIRST = DatabaseOrder()


@dataclass(frozen=True, slots=True)
class OperationFilter:
    domain: str | None = None
    project: str | None = None
    database_id: str | None = None
    status: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderFilter:
    region: str | None = None
    availability_zone: str | None = None
    is_active: bool | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    # None: both scopes; an entry stored without one is `tenant`.
    scope: AuditScope | None = None
    domain: str | None = None
    project: str | None = None
    actor_key_id: str | None = None
    target: str | None = None
    outcome: int | None = None
    # Entries at or after `since`, before `until`.
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyFilter:
    """Keys of a domain (any project, and domain-wide ones) or of one project of a domain."""

    domain: str | None = None
    project: str | None = None


@dataclass(frozen=True, slots=True)
class BackupFilter:
    domain: str | None = None
    project: str | None = None
    database_id: str | None = None
    status: str | None = None
    # Backups whose Snapshot is gone (retention, a delete) are left out unless asked for.
    include_removed: bool = False


class DatabaseRepository(Protocol):
    async def insert(self, database: Database) -> Database:
        """Raises `DuplicateName` when a live database has the same (domain, project, name)."""

    async def get(self, database_id: str) -> Database | None: ...

    async def list(
        self,
        where: DatabaseFilter,
        *,
        offset: int = 0,
        limit: int = 20,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[Database]:
        """In `order` (newest first unless told), ties broken by id."""

    async def list_texts(
        self,
        where: DatabaseFilter,
        *,
        offset: int = 0,
        limit: int = 20,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[str]:
        """As `list`, each record as a JSON document that `Database.model_validate_json`
        reads, unchecked (SQLite: the stored text, fields a client must never see
        included): for a reader that takes only some fields and checks them itself."""

    async def scan(self, *, after: str | None = None, limit: int = 500) -> Sequence[Database]:
        """Live databases in id order, those after the id `after`: a walk over every record
        that costs one index range read per page, however many there are."""

    async def scan_lazily(self, *, after: str | None = None, limit: int = 500) -> Sequence[Scanned]:
        """As `scan`, each record's id and revision read and the record parsed only when
        asked (`Scanned.record()`): a pass that knows a record unchanged since it last read
        it (the same revision) or not its own skips parsing it."""

    async def update_fields(
        self,
        database_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Database:
        """Raises `NotFound`, `RevisionConflict` (when `expected_revision` is stale),
        `DuplicateName` (when the change makes a deleted name live next to a live one), or
        `Fenced` (when `fence` is older than the newest epoch of its name)."""

    async def count_by_state(self) -> Mapping[tuple[str, str, str], int]:
        """Live databases counted by (engine, status, health_status), for the metrics."""

    async def count_using_backup_storage(self, name: str, *, or_unset: bool) -> int:
        """Live databases whose `backup_storage` is `name`, and with `or_unset` those that
        name none (they use the default storage): one count an index answers."""


class OperationRepository(Protocol):
    async def create_active(self, operation: Operation, *, fence: Fence | None = None) -> Operation:
        """Insert an active operation; raises `OperationInProgress` when the database has one,
        `Fenced` (nothing written) when `fence` is older than the newest epoch of its name."""

    async def get(self, operation_id: str) -> Operation | None: ...

    async def get_active(self, database_id: str) -> Operation | None: ...

    async def list(
        self, where: OperationFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[Operation]:
        """Newest first."""

    async def latest_for(self, database_ids: Sequence[str]) -> Mapping[str, Operation]:
        """Each database's newest operation (those with none are absent), in one query
        that an index answers per id: a page of databases costs one call, not one per row."""

    async def update_fields(
        self, operation_id: str, fields: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Operation:
        """Raises `NotFound` or `RevisionConflict`. Moving to a terminal status frees the
        database's active slot in the same write."""

    async def list_stalled(self, *, due_before: datetime, limit: int = 500) -> Sequence[Operation]:
        """Active operations that should have run by `due_before`: queued or waiting with
        `next_run_at` or `deadline_at` before it (a wake-up past the deadline fails it), or
        running with a lease that expired before it."""


class EventRepository(Protocol):
    async def append(self, event: Event, *, fence: Fence | None = None) -> Event:
        """Raises `Fenced` (nothing written) when `fence` is older than the newest epoch."""

    async def list_for_database(
        self, database_id: str, *, offset: int = 0, limit: int = 20
    ) -> Page[Event]:
        """Newest first."""


class ApiKeyRepository(Protocol):
    async def insert(self, key: ApiKey) -> ApiKey:
        """Raises `Conflict` when a key with that id exists."""

    async def get(self, key_id: str) -> ApiKey | None:
        """Keys are found by id only: a token carries its key's id (no index over hashes)."""

    async def list(
        self, where: ApiKeyFilter | None = None, *, offset: int = 0, limit: int = 20
    ) -> Page[ApiKey]:
        """Newest first."""

    async def mark_used(self, key_id: str, *, at: datetime, unless_since: datetime) -> bool:
        """Set `last_used_at` to `at` unless it is already at or after `unless_since`, in one
        conditional write (so many requests, on many instances, write it once). Returns
        whether it wrote; a missing key is not an error."""

    async def revoke(self, key_id: str, *, at: datetime) -> ApiKey:
        """Raises `NotFound`. Revoking twice keeps the first time."""

    async def count(self) -> int: ...


class ProviderRepository(Protocol):
    async def insert(self, provider: Provider) -> Provider:
        """Raises `NameTaken` when a provider has the same name."""

    async def get(self, provider_id: str) -> Provider | None: ...

    async def list(
        self, where: ProviderFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[Provider]:
        """Newest first."""

    async def all(self) -> Sequence[Provider]:
        """Every provider (they are few: placement reads them all)."""

    async def update_fields(
        self,
        provider_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Provider:
        """Raises `NotFound`, `RevisionConflict`, `NameTaken` or `Fenced`."""

    async def delete(self, provider_id: str, *, expected_revision: int | None = None) -> bool:
        """False when there was no such provider (at that revision)."""


class BackupStorageRepository(Protocol):
    async def insert(self, storage: BackupStorage) -> BackupStorage:
        """Raises `NameTaken` when a storage has the same name. A storage is inserted as not
        the default (`ValueError` otherwise): `make_default` designates it."""

    async def get(self, storage_id: str) -> BackupStorage | None: ...

    async def get_by_name(self, name: str) -> BackupStorage | None: ...

    async def get_default(self) -> BackupStorage | None: ...

    async def list(self, *, offset: int = 0, limit: int = 20) -> Page[BackupStorage]:
        """Newest first."""

    async def update_fields(
        self,
        storage_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> BackupStorage:
        """Raises `NotFound` or `RevisionConflict`. The name, the provider and the default
        flag are not fields it changes (`ValueError`)."""

    async def make_default(self, storage_id: str) -> BackupStorage:
        """Make it the default and every other storage not: never two defaults (a unique
        index holds it), and on SQLite one transaction. Raises `NotFound`."""

    async def delete(self, storage_id: str, *, expected_revision: int | None = None) -> bool:
        """False when there was no such storage (at that revision)."""


class BackupRepository(Protocol):
    async def insert(self, backup: Backup) -> Backup:
        """Raises `Conflict` when a backup of the same Snapshot (provider, namespace,
        snapshot name) is recorded already."""

    async def get(self, backup_id: str) -> Backup | None: ...

    async def find_snapshot(
        self, provider_id: str, namespace: str, snapshot_name: str
    ) -> Backup | None: ...

    async def list(self, where: BackupFilter, *, offset: int = 0, limit: int = 20) -> Page[Backup]:
        """Newest first."""

    async def live(
        self, provider_id: str, *, after: str | None = None, limit: int = 500
    ) -> Sequence[Backup]:
        """Backups on a provider not yet removed, in id order after the id `after`."""

    async def update_fields(
        self, backup_id: str, fields: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Backup:
        """Raises `NotFound` or `RevisionConflict`."""

    async def totals(self) -> Mapping[tuple[str, str, str], tuple[int, int]]:
        """Backups not removed, by (storage, type, status): their count and bytes."""


class AuditRepository(Protocol):
    async def append(self, entry: AuditEntry) -> AuditEntry: ...

    async def list(
        self, where: AuditFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[AuditEntry]:
        """Newest first."""


class TenantRepository(Protocol):
    async def get(self, tenant_id: str) -> Tenant | None: ...

    async def insert(self, tenant: Tenant) -> Tenant:
        """Raises `Conflict` when the tenant record exists already."""

    async def update_fields(
        self,
        tenant_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Tenant:
        """Raises `NotFound`, `RevisionConflict` or `Fenced`."""


class FenceRepository(Protocol):
    """Leader epochs that only grow, kept where the leader's writes go (not in Redis, which
    can lose them). A fenced write compares its epoch with this counter atomically with the
    write on SQLite (one statement); on MongoDB the check is a read just before the write
    (docs/architecture.md, decision on fencing)."""

    async def advance(self, name: str) -> int:
        """Take the next epoch of `name` (1 the first time): atomic, so two callers never
        take the same one."""

    async def current(self, name: str) -> int:
        """The newest epoch taken of `name`; 0 when none was."""


class Store(Protocol):
    @property
    def backend(self) -> str: ...

    @property
    def databases(self) -> DatabaseRepository: ...

    @property
    def operations(self) -> OperationRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def providers(self) -> ProviderRepository: ...

    @property
    def backup_storages(self) -> BackupStorageRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def backups(self) -> BackupRepository: ...

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def fences(self) -> FenceRepository: ...

    async def create_database(self, database: Database, operation: Operation) -> None:
        """A new database's record and its first (active) operation, both or neither where
        the backend allows it: one transaction on SQLite. On MongoDB, two writes, the
        record first (multi-document transactions need a replica set, which a deployment
        may not run), and the record is deleted again when the operation cannot be written;
        a process killed between them leaves a record without an operation, which the
        reconciliation pass rolls back (`services.orphan_records`). Raises `DuplicateName`
        (nothing written) or a `StoreError`."""

    async def ping(self) -> None:
        """Raises `StoreUnavailable` when the backend does not answer."""

    async def close(self) -> None: ...
