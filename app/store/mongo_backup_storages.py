"""MongoDB adapter: backup storages (`BackupStorageRepository`). Unique indexes over the name
and over `default_key` (`documents.DEFAULT_KEY` on the default, the record's id otherwise)
keep names unique and the default single on MongoDB and its stand-ins alike. Split from
`mongo` for size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo import errors as mongo_errors

from app.domain import clock
from app.domain.backup_storages import BackupStorage
from app.store import documents, errors
from app.store.mongo_collection import Collection, checked, guard, out
from app.store.protocols import Page

# Rounds of "unset the others, set this one" before giving up: each lost round means another
# caller made its own storage the default in between, which this one then replaces.
_DEFAULT_ROUNDS = 5


class MongoBackupStorages:
    def __init__(self, collection: Collection) -> None:
        self._c = collection

    async def insert(self, storage: BackupStorage) -> BackupStorage:
        if storage.is_default:
            raise ValueError("a backup storage is inserted as not the default")
        try:
            await self._c.insert(storage)
        except mongo_errors.DuplicateKeyError as exc:
            raise errors.NameTaken("backup storage", storage.name) from exc
        return storage

    async def get(self, storage_id: str) -> BackupStorage | None:
        return out(BackupStorage, await self._c.find_one({"_id": storage_id}))

    async def get_by_name(self, name: str) -> BackupStorage | None:
        return out(BackupStorage, await self._c.find_one({"name": name}))

    async def get_default(self) -> BackupStorage | None:
        return out(BackupStorage, await self._c.find_one({"default_key": documents.DEFAULT_KEY}))

    async def list(self, *, offset: int = 0, limit: int = 20) -> Page[BackupStorage]:
        docs, total = await self._c.page({}, offset=offset, limit=limit)
        return Page([checked(BackupStorage, d) for d in docs], total)

    async def update_fields(
        self,
        storage_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> BackupStorage:
        return checked(BackupStorage, await self._c.update(storage_id, fields, expected_revision))

    async def make_default(self, storage_id: str) -> BackupStorage:
        # No transaction (see `Store.create_database`): the old default is unset, then this
        # one set; the unique index refuses the second write when another caller set its own
        # in between, and the round starts again. A process killed between the two leaves no
        # default, which the service's start repairs (`ensure_default`).
        if await self._c.find_one({"_id": storage_id}) is None:
            raise errors.NotFound("backup_storage", storage_id)  # and the default stays
        for _ in range(_DEFAULT_ROUNDS):
            now = clock.to_text(clock.utcnow())
            others = await guard(
                self._c.c.find(
                    {"default_key": documents.DEFAULT_KEY, "_id": {"$ne": storage_id}}
                ).to_list(None)
            )
            for other in others:  # one at most, unless a round was cut short
                await guard(
                    self._c.c.update_one(
                        {"_id": other["_id"], "default_key": documents.DEFAULT_KEY},
                        {
                            "$set": {
                                "is_default": False,
                                "default_key": other["_id"],
                                "updated_at": now,
                            },
                            "$inc": {"revision": 1},
                        },
                    )
                )
            try:
                doc = await guard(
                    self._c.c.find_one_and_update(
                        {"_id": storage_id},
                        {
                            "$set": {
                                "is_default": True,
                                "default_key": documents.DEFAULT_KEY,
                                "updated_at": now,
                            },
                            "$inc": {"revision": 1},
                        },
                        return_document=ReturnDocument.AFTER,
                    )
                )
            except mongo_errors.DuplicateKeyError:
                continue
            if doc is None:
                # Gone, or (nx-27017) the unique index refused it without DuplicateKeyError.
                if await self._c.find_one({"_id": storage_id}) is None:
                    raise errors.NotFound("backup_storage", storage_id)
                continue
            return checked(BackupStorage, doc)
        raise errors.Conflict(f"backup storage {storage_id}: the default kept changing")

    async def delete(self, storage_id: str, *, expected_revision: int | None = None) -> bool:
        query: dict[str, Any] = {"_id": storage_id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        result = await guard(self._c.c.delete_one(query))
        return bool(result.deleted_count)
