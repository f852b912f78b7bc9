"""The MongoDB adapter's indexes: the ones it creates at start (uniqueness rules are plain
unique indexes over derived keys, see `app.store.mongo`) and the ones earlier versions
created that it drops."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo import errors as mongo_errors

from app.store.mongo_collection import guard, translate

INDEXES: dict[str, list[IndexModel]] = {
    "databases": [
        IndexModel([("live_name_key", ASCENDING)], unique=True, name="databases_live_name"),
        IndexModel(
            [("domain", ASCENDING), ("project", ASCENDING), ("created_at", DESCENDING)],
            name="databases_tenant_created",
        ),
        IndexModel(
            [("domain", ASCENDING), ("project", ASCENDING), ("name", ASCENDING)],
            name="databases_tenant_name",
        ),
        IndexModel(
            [("backup_storage", ASCENDING), ("status", ASCENDING)],
            name="databases_backup_storage",
        ),
    ],
    "operations": [
        IndexModel([("active_key", ASCENDING)], unique=True, name="operations_one_active"),
        IndexModel(
            [("database_id", ASCENDING), ("created_at", DESCENDING)],
            name="operations_database_created",
        ),
        IndexModel([("status", ASCENDING), ("next_run_at", ASCENDING)], name="operations_due"),
    ],
    "events": [
        IndexModel(
            [("database_id", ASCENDING), ("created_at", DESCENDING)],
            name="events_database_created",
        ),
    ],
    "audit": [
        IndexModel(
            [("domain", ASCENDING), ("created_at", DESCENDING)], name="audit_domain_created"
        ),
        IndexModel([("created_at", DESCENDING)], name="audit_created"),
    ],
    "backup_storages": [
        IndexModel([("name", ASCENDING)], unique=True, name="backup_storages_name"),
        IndexModel([("default_key", ASCENDING)], unique=True, name="backup_storages_one_default"),
    ],
    "backups": [
        IndexModel([("snapshot_key", ASCENDING)], unique=True, name="backups_snapshot"),
        IndexModel(
            [("database_id", ASCENDING), ("created_at", DESCENDING)],
            name="backups_database_created",
        ),
        IndexModel(
            [("domain", ASCENDING), ("project", ASCENDING), ("created_at", DESCENDING)],
            name="backups_tenant_created",
        ),
    ],
    "providers": [
        IndexModel([("name", ASCENDING)], unique=True, name="providers_name"),
    ],
    "api_keys": [
        IndexModel(
            [("domain", ASCENDING), ("project", ASCENDING), ("created_at", DESCENDING)],
            name="api_keys_tenant_created",
        ),
    ],
}

# Indexes earlier versions created and this one no longer wants (dropped at start):
# api_keys_hash was unique over unsalted hashes, the lookup key before ids were in tokens.
OBSOLETE_INDEXES: dict[str, list[str]] = {"api_keys": ["api_keys_hash"]}

_INDEX_NOT_FOUND = 27  # MongoDB's IndexNotFound error code


async def _drop_index(collection: Any, index: str) -> None:
    try:
        await collection.drop_index(index)
    except mongo_errors.OperationFailure as exc:
        if exc.code != _INDEX_NOT_FOUND:  # else another instance dropped it first
            raise translate(exc) from exc
    except mongo_errors.PyMongoError as exc:
        raise translate(exc) from exc


async def create(db: Any) -> None:
    """Create every index (idempotent) and drop the obsolete ones that are present."""
    for name, indexes in INDEXES.items():
        await guard(db[name].create_indexes(indexes))
    for name, obsolete in OBSOLETE_INDEXES.items():
        present = await guard(db[name].index_information())
        for index in obsolete:
            if index in present:
                await _drop_index(db[name], index)
