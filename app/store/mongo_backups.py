"""MongoDB adapter of the backup records (`protocols.BackupRepository`). One record per
Snapshot is a unique index over a derived `snapshot_key`: `provider/namespace/snapshot` once
the Snapshot is known, the record's own id before (the pattern of `documents`; a partial
index would do, but the tests' in-memory stand-in ignores partial filters)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo import errors as mongo_errors

from app.domain.backups import Backup
from app.store import documents, errors
from app.store.mongo_collection import Collection, checked, guard, into, out
from app.store.protocols import BackupFilter, Page


class MongoBackups:
    def __init__(self, collection: Collection) -> None:
        self._c = collection

    async def insert(self, backup: Backup) -> Backup:
        doc = into(backup)
        doc["snapshot_key"] = _key(
            backup.provider_id, backup.namespace, backup.snapshot_name, backup.id
        )
        try:
            await guard(self._c.c.insert_one(doc))
        except (mongo_errors.DuplicateKeyError, errors.Conflict) as exc:
            raise errors.Conflict(f"snapshot {backup.snapshot_name} is recorded already") from exc
        return backup

    async def get(self, backup_id: str) -> Backup | None:
        return out(Backup, await self._c.find_one({"_id": backup_id}))

    async def find_snapshot(
        self, provider_id: str, namespace: str, snapshot_name: str
    ) -> Backup | None:
        query = {"provider_id": provider_id, "namespace": namespace, "snapshot_name": snapshot_name}
        return out(Backup, await self._c.find_one(query))

    async def list(self, where: BackupFilter, *, offset: int = 0, limit: int = 20) -> Page[Backup]:
        query: dict[str, Any] = {
            field: getattr(where, field)
            for field in ("domain", "project", "database_id", "status")
            if getattr(where, field) is not None
        }
        if not where.include_removed:
            query["removed_at"] = None
        docs, total = await self._c.page(query, offset=offset, limit=limit)
        return Page([checked(Backup, d) for d in docs], total)

    async def live(
        self, provider_id: str, *, after: str | None = None, limit: int = 500
    ) -> Sequence[Backup]:
        # `$eq: None`, not a bare None: nx-27017 (a test server) drops every match of a bare
        # null next to a range on `_id`; both mean "missing or null" to MongoDB.
        query: dict[str, Any] = {"provider_id": provider_id, "removed_at": {"$eq": None}}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._c.c.find(query).sort([("_id", ASCENDING)]).limit(limit)
        docs: list[dict[str, Any]] = await guard(cursor.to_list(None))
        return [checked(Backup, d) for d in docs]

    async def update_fields(
        self, backup_id: str, fields: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Backup:
        changes = documents.update_set(Backup, fields)
        if fields.get("snapshot_name") is not None:
            # The key's other parts never change: read them to derive it in the same write.
            current = await self.get(backup_id)
            if current is None:
                raise errors.NotFound("backup", backup_id)
            changes["snapshot_key"] = _key(
                current.provider_id, current.namespace, fields["snapshot_name"], backup_id
            )
        query: dict[str, Any] = {"_id": backup_id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        try:
            doc = await guard(
                self._c.c.find_one_and_update(
                    query,
                    {"$set": changes, "$inc": {"revision": 1}},
                    return_document=ReturnDocument.AFTER,
                )
            )
        except mongo_errors.DuplicateKeyError as exc:
            raise errors.Conflict(f"snapshot {fields['snapshot_name']} is recorded") from exc
        if doc is None:
            current_doc = await self._c.find_one({"_id": backup_id})
            documents.refuse_missed_update(
                Backup, backup_id, current_doc, changes, expected_revision
            )
        return checked(Backup, doc)

    async def totals(self) -> Mapping[tuple[str, str, str], tuple[int, int]]:
        # One string key (nx-27017 groups on a single expression only); storage names are
        # DNS labels and types and statuses enum words: none holds the separator.
        pipeline: list[dict[str, Any]] = [
            {"$match": {"removed_at": {"$eq": None}}},
            {
                "$group": {
                    "_id": {"$concat": ["$storage", "|", "$type", "|", "$status"]},
                    "n": {"$sum": 1},
                    "bytes": {"$sum": {"$ifNull": ["$size_bytes", 0]}},
                }
            },
        ]
        totals: dict[tuple[str, str, str], tuple[int, int]] = {}
        for group in await guard(self._c.aggregate(pipeline)):
            storage, kind, status = str(group["_id"]).split("|", 2)
            totals[(storage, kind, status)] = (int(group["n"]), int(group["bytes"]))
        return totals


def _key(provider_id: str, namespace: str, snapshot: str | None, backup_id: str) -> str:
    return backup_id if snapshot is None else f"{provider_id}/{namespace}/{snapshot}"
