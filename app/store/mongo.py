"""MongoDB adapter (PyMongo's async API; no ODM, no Motor, which is deprecated).

Documents have the shape `documents.py` describes, with `_id` equal to `id`. Uniqueness
rules are plain unique indexes over derived keys (`live_name_key`, `active_key`), created at
start: they hold on MongoDB itself and on MongoDB-speaking stand-ins that ignore
`partialFilterExpression`. Upserts with `$setOnInsert` are not used (a stand-in loses them).

The adapter takes a database handle, so tests can hand it an in-memory stand-in; only
`connect` knows about the client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING
from pymongo import errors as mongo_errors

from app.domain import clock
from app.domain.api_keys import ApiKey
from app.domain.audit import AuditEntry, AuditScope
from app.domain.backup_storages import BackupStorage
from app.domain.backups import Backup
from app.domain.databases import Database
from app.domain.events import Event
from app.domain.operations import ACTIVE_STATUSES, Operation, OperationStatus
from app.domain.providers import Provider
from app.domain.quotas import Tenant
from app.store import errors, mongo_indexes
from app.store.mongo_backup_storages import MongoBackupStorages
from app.store.mongo_backups import MongoBackups
from app.store.mongo_collection import (
    Collection,
    checked,
    guard,
    out,
    translate,
)
from app.store.mongo_fences import MongoFences
from app.store.protocols import (
    NEWEST_FIRST,
    ApiKeyFilter,
    AuditFilter,
    DatabaseFilter,
    DatabaseOrder,
    Fence,
    OperationFilter,
    Page,
    ProviderFilter,
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_ACTIVE = [s.value for s in ACTIVE_STATUSES]


class ScannedDoc:
    """A record of `scan_lazily`: its document, checked into a `Database` when asked."""

    __slots__ = ("_doc", "id", "revision")

    def __init__(self, doc: dict[str, Any]) -> None:
        self._doc, self.id, self.revision = doc, str(doc["_id"]), int(doc.get("revision") or 0)

    def record(self) -> Database:
        return checked(Database, self._doc)


class MongoDatabases:
    def __init__(self, collection: Collection, fences: MongoFences) -> None:
        self._c = collection
        self._fences = fences

    async def insert(self, database: Database) -> Database:
        try:
            await self._c.insert(database)
        except mongo_errors.DuplicateKeyError as exc:
            raise errors.DuplicateName(database.domain, database.project, database.name) from exc
        return database

    async def get(self, database_id: str) -> Database | None:
        return out(Database, await self._c.find_one({"_id": database_id}))

    async def list(
        self,
        where: DatabaseFilter,
        *,
        offset: int = 0,
        limit: int = 20,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[Database]:
        query: dict[str, Any] = {}
        for field in ("domain", "project", "engine", "status", "provider_id"):
            value = getattr(where, field)
            if value is not None:
                query[field] = value
        if where.status is None and not where.include_deleted:
            query["status"] = {"$ne": "deleted"}
        if where.name_prefix:
            query["name"] = {"$regex": "^" + re.escape(where.name_prefix)}
        if where.label is not None:
            query["label_pairs"] = "=".join(where.label)
        direction = DESCENDING if order.descending else ASCENDING
        sort = [(order.key.value, direction), ("_id", direction)]
        docs, total = await self._c.page(query, offset=offset, limit=limit, sort=sort)
        return Page([checked(Database, d) for d in docs], total)

    async def list_texts(self, where: DatabaseFilter, **paging: Any) -> Page[str]:
        found = await self.list(where, **paging)  # the model path: not a hot store here
        return Page([database.model_dump_json() for database in found.items], found.total)

    async def scan(self, *, after: str | None = None, limit: int = 500) -> Sequence[Database]:
        return [scanned.record() for scanned in await self.scan_lazily(after=after, limit=limit)]

    async def scan_lazily(
        self, *, after: str | None = None, limit: int = 500
    ) -> Sequence[ScannedDoc]:
        query: dict[str, Any] = {"status": {"$ne": "deleted"}}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._c.c.find(query).sort([("_id", ASCENDING)]).limit(limit)
        docs: list[dict[str, Any]] = await guard(cursor.to_list(None))
        return [ScannedDoc(d) for d in docs]

    async def update_fields(
        self,
        database_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Database:
        await self._fences.refuse_if_stale(fence)
        try:
            doc = await self._c.update(database_id, fields, expected_revision)
        except mongo_errors.DuplicateKeyError as exc:
            current = await self.get(database_id)
            if current is None:
                raise errors.NotFound("database", database_id) from exc
            raise errors.DuplicateName(current.domain, current.project, current.name) from exc
        return checked(Database, doc)

    async def count_by_state(self) -> Mapping[tuple[str, str, str], int]:
        # One string key rather than a compound `_id` document: nx-27017, the wire-protocol
        # stand-in the contract suite runs, groups on a single expression only. The three
        # values are enum words and never hold the separator.
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": {"$ne": "deleted"}}},
            {
                "$group": {
                    "_id": {"$concat": ["$engine", "|", "$status", "|", "$health_status"]},
                    "n": {"$sum": 1},
                }
            },
        ]
        counts: dict[tuple[str, str, str], int] = {}
        for group in await guard(self._c.aggregate(pipeline)):
            engine, status, health = str(group["_id"]).split("|", 2)
            counts[(engine, status, health)] = int(group["n"])
        return counts

    async def count_using_backup_storage(self, name: str, *, or_unset: bool) -> int:
        # `None` matches a missing field too (records written before the field existed).
        names: list[str | None] = [name, None] if or_unset else [name]
        query = {"backup_storage": {"$in": names}, "status": {"$ne": "deleted"}}
        return int(await guard(self._c.c.count_documents(query)))


class MongoOperations:
    def __init__(self, collection: Collection, fences: MongoFences) -> None:
        self._c = collection
        self._fences = fences

    async def create_active(self, operation: Operation, *, fence: Fence | None = None) -> Operation:
        if not operation.is_active:
            raise ValueError("create_active takes an active operation")
        await self._fences.refuse_if_stale(fence)
        for _ in range(3):
            try:
                await self._c.insert(operation)
                return operation
            except mongo_errors.DuplicateKeyError:
                pass
            # The holder may have ended between our insert and this read: try again.
            active = await self.get_active(operation.database_id)
            if active is not None:
                raise errors.OperationInProgress(operation.database_id, active.id)
        raise errors.StoreError("could not claim the active operation slot")

    async def get(self, operation_id: str) -> Operation | None:
        return out(Operation, await self._c.find_one({"_id": operation_id}))

    async def get_active(self, database_id: str) -> Operation | None:
        return out(
            Operation,
            await self._c.find_one({"active_key": database_id, "status": {"$in": _ACTIVE}}),
        )

    async def list(
        self, where: OperationFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[Operation]:
        query = {
            field: getattr(where, field)
            for field in ("domain", "project", "database_id", "status", "type")
            if getattr(where, field) is not None
        }
        docs, total = await self._c.page(query, offset=offset, limit=limit)
        return Page([checked(Operation, d) for d in docs], total)

    async def latest_for(self, database_ids: Sequence[str]) -> Mapping[str, Operation]:
        # One aggregation: an index range of operations_database_created per id, the first
        # of each group kept (one `find_one` per id would be a round trip per row).
        if not database_ids:
            return {}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"database_id": {"$in": list(database_ids)}}},
            {"$sort": {"database_id": ASCENDING, "created_at": DESCENDING, "_id": DESCENDING}},
            {"$group": {"_id": "$database_id", "doc": {"$first": "$$ROOT"}}},
        ]
        latest = [checked(Operation, g["doc"]) for g in await guard(self._c.aggregate(pipeline))]
        return {o.database_id: o for o in latest}

    async def update_fields(
        self, operation_id: str, fields: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Operation:
        return checked(Operation, await self._c.update(operation_id, fields, expected_revision))

    async def list_stalled(self, *, due_before: datetime, limit: int = 500) -> Sequence[Operation]:
        cutoff = clock.to_text(due_before)
        running = OperationStatus.RUNNING.value
        query = {
            "$or": [
                {
                    "status": {"$in": [s for s in _ACTIVE if s != running]},
                    "$or": [{"next_run_at": {"$lt": cutoff}}, {"deadline_at": {"$lt": cutoff}}],
                },
                {
                    "status": running,
                    "$or": [
                        {"lease_expires_at": None},
                        {"lease_expires_at": {"$lt": cutoff}},
                    ],
                },
            ]
        }
        cursor = self._c.c.find(query).sort([("next_run_at", ASCENDING)]).limit(limit)
        docs: list[dict[str, Any]] = await guard(cursor.to_list(None))
        return [checked(Operation, d) for d in docs]


class MongoEvents:
    def __init__(self, collection: Collection, fences: MongoFences) -> None:
        self._c = collection
        self._fences = fences

    async def append(self, event: Event, *, fence: Fence | None = None) -> Event:
        await self._fences.refuse_if_stale(fence)
        await self._c.insert(event)
        return event

    async def list_for_database(
        self, database_id: str, *, offset: int = 0, limit: int = 20
    ) -> Page[Event]:
        docs, total = await self._c.page({"database_id": database_id}, offset=offset, limit=limit)
        return Page([checked(Event, d) for d in docs], total)


class MongoApiKeys:
    def __init__(self, collection: Collection) -> None:
        self._c = collection

    async def insert(self, key: ApiKey) -> ApiKey:
        try:
            await self._c.insert(key)
        except mongo_errors.DuplicateKeyError as exc:
            raise errors.Conflict(f"an API key with id {key.id} exists") from exc
        return key

    async def get(self, key_id: str) -> ApiKey | None:
        return out(ApiKey, await self._c.find_one({"_id": key_id}))

    async def list(
        self, where: ApiKeyFilter | None = None, *, offset: int = 0, limit: int = 20
    ) -> Page[ApiKey]:
        query = {
            field: getattr(where, field)
            for field in ("domain", "project")
            if where is not None and getattr(where, field) is not None
        }
        docs, total = await self._c.page(query, offset=offset, limit=limit)
        return Page([checked(ApiKey, d) for d in docs], total)

    async def mark_used(self, key_id: str, *, at: datetime, unless_since: datetime) -> bool:
        result = await guard(
            self._c.c.update_one(
                {
                    "_id": key_id,
                    "$or": [
                        {"last_used_at": None},
                        {"last_used_at": {"$lt": clock.to_text(unless_since)}},
                    ],
                },
                {"$set": {"last_used_at": clock.to_text(at)}},
            )
        )
        return bool(result.modified_count)

    async def revoke(self, key_id: str, *, at: datetime) -> ApiKey:
        await guard(
            self._c.c.update_one(
                {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": clock.to_text(at)}}
            )
        )
        key = await self.get(key_id)
        if key is None:
            raise errors.NotFound("api_key", key_id)
        return key

    async def count(self) -> int:
        return int(await guard(self._c.c.count_documents({})))


class MongoProviders:
    def __init__(self, collection: Collection, fences: MongoFences) -> None:
        self._c = collection
        self._fences = fences

    async def insert(self, provider: Provider) -> Provider:
        try:
            await self._c.insert(provider)
        except mongo_errors.DuplicateKeyError as exc:
            raise errors.NameTaken("provider", provider.name) from exc
        return provider

    async def get(self, provider_id: str) -> Provider | None:
        return out(Provider, await self._c.find_one({"_id": provider_id}))

    async def list(
        self, where: ProviderFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[Provider]:
        query = {
            field: getattr(where, field)
            for field in ("region", "availability_zone", "is_active")
            if getattr(where, field) is not None
        }
        docs, total = await self._c.page(query, offset=offset, limit=limit)
        return Page([checked(Provider, d) for d in docs], total)

    async def all(self) -> Sequence[Provider]:
        docs: list[dict[str, Any]] = await guard(
            self._c.c.find({}).sort([("_id", ASCENDING)]).to_list(None)
        )
        return [checked(Provider, d) for d in docs]

    async def update_fields(
        self,
        provider_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Provider:
        await self._fences.refuse_if_stale(fence)
        try:
            doc = await self._c.update(provider_id, fields, expected_revision)
        except errors.RevisionConflict:
            raise
        except (mongo_errors.DuplicateKeyError, errors.Conflict) as exc:
            raise errors.NameTaken("provider", str(fields.get("name"))) from exc
        return checked(Provider, doc)

    async def delete(self, provider_id: str, *, expected_revision: int | None = None) -> bool:
        query: dict[str, Any] = {"_id": provider_id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        result = await guard(self._c.c.delete_one(query))
        return bool(result.deleted_count)


class MongoAudit:
    def __init__(self, collection: Collection) -> None:
        self._c = collection

    async def append(self, entry: AuditEntry) -> AuditEntry:
        await self._c.insert(entry)
        return entry

    async def list(
        self, where: AuditFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[AuditEntry]:
        query: dict[str, Any] = {
            field: getattr(where, field)
            for field in ("domain", "project", "actor_key_id", "target", "outcome")
            if getattr(where, field) is not None
        }
        if where.scope is AuditScope.PLATFORM:
            query["scope"] = AuditScope.PLATFORM.value
        elif where.scope is AuditScope.TENANT:  # an entry stored without a scope is `tenant`
            query["scope"] = {"$ne": AuditScope.PLATFORM.value}
        when: dict[str, str] = {}
        if where.since is not None:
            when["$gte"] = clock.to_text(where.since)
        if where.until is not None:
            when["$lt"] = clock.to_text(where.until)
        if when:
            query["created_at"] = when
        docs, total = await self._c.page(query, offset=offset, limit=limit)
        return Page([checked(AuditEntry, d) for d in docs], total)


class MongoTenants:
    def __init__(self, collection: Collection, fences: MongoFences) -> None:
        self._c = collection
        self._fences = fences

    async def get(self, tenant_id: str) -> Tenant | None:
        return out(Tenant, await self._c.find_one({"_id": tenant_id}))

    async def insert(self, tenant: Tenant) -> Tenant:
        try:
            await self._c.insert(tenant)
        except mongo_errors.DuplicateKeyError as exc:
            raise errors.Conflict(f"tenant {tenant.id} exists") from exc
        return tenant

    async def update_fields(
        self,
        tenant_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Tenant:
        await self._fences.refuse_if_stale(fence)
        return checked(Tenant, await self._c.update(tenant_id, fields, expected_revision))


class MongoStore:
    backend = "mongodb"

    def __init__(self, db: Any, *, client: Any = None) -> None:
        self._db = db
        self._client = client
        self.fences = MongoFences(db["fences"])
        self.databases = MongoDatabases(Collection(db["databases"], Database), self.fences)
        self.operations = MongoOperations(Collection(db["operations"], Operation), self.fences)
        self.events = MongoEvents(Collection(db["events"], Event), self.fences)
        self.api_keys = MongoApiKeys(Collection(db["api_keys"], ApiKey))
        self.providers = MongoProviders(Collection(db["providers"], Provider), self.fences)
        self.backup_storages = MongoBackupStorages(Collection(db["backup_storages"], BackupStorage))
        self.audit = MongoAudit(Collection(db["audit"], AuditEntry))
        self.tenants = MongoTenants(Collection(db["tenants"], Tenant), self.fences)
        self.backups = MongoBackups(Collection(db["backups"], Backup))

    @classmethod
    async def open(cls, db: Any, *, client: Any = None) -> MongoStore:
        store = cls(db, client=client)
        await store.create_indexes()
        return store

    async def create_indexes(self) -> None:
        await mongo_indexes.create(self._db)

    async def create_database(self, database: Database, operation: Operation) -> None:
        # Two writes, record first: no transaction (see the protocol); undone on failure.
        await self.databases.insert(database)
        try:
            await self.operations.create_active(operation)
        except errors.StoreError:
            await guard(self._db["databases"].delete_one({"_id": database.id}))
            raise
        except mongo_errors.PyMongoError as exc:
            await guard(self._db["databases"].delete_one({"_id": database.id}))
            raise translate(exc) from exc

    async def ping(self) -> None:
        await guard(self._db.command("ping"))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


async def connect(url: str, database: str, *, timeout: float = 5.0) -> MongoStore:
    """Open a client on `url` and a store on `database`; indexes are created here."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=int(timeout * 1000), tz_aware=True
    )
    try:
        return await MongoStore.open(client[database], client=client)
    except BaseException:
        await client.close()
        raise
