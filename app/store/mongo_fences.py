"""The MongoDB adapter's leader epochs (`FenceRepository`, the `fences` collection: one
document per lease name, `{_id: name, epoch: n}`).

MongoDB writes one document atomically, and a fenced write touches another one (the record)
than the counter; without multi-document transactions (which need a replica set, that a
deployment may not run) the check is a read of the counter just before the write:
`refuse_if_stale`. The window left is the one round trip between the two, not a leader's
whole pass (docs/architecture.md, the fencing decision).
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo import errors as mongo_errors

from app.store import errors
from app.store.mongo_collection import guard
from app.store.protocols import Fence


class MongoFences:
    def __init__(self, collection: Any) -> None:
        self._c = collection

    async def advance(self, name: str) -> int:
        try:
            doc = await self._inc(name)
        except mongo_errors.DuplicateKeyError:  # two first advances raced: the other inserted
            doc = await self._inc(name)
        return int(doc["epoch"])

    async def current(self, name: str) -> int:
        doc = await guard(self._c.find_one({"_id": name}))
        return int(doc["epoch"]) if doc else 0

    async def refuse_if_stale(self, fence: Fence | None) -> None:
        """Raise `Fenced` when an epoch newer than `fence` was taken (None: not fenced)."""
        if fence is None:
            return
        newest = await self.current(fence.name)
        if newest > fence.epoch:
            raise errors.Fenced(fence.name, fence.epoch, newest)

    async def _inc(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = await guard(
            self._c.find_one_and_update(
                {"_id": name},
                {"$inc": {"epoch": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        )
        return doc
