"""The MongoDB adapter's building blocks: one collection of documents (`Collection`), the
documents' conversion in and out, and the translation of PyMongo's errors into the store's
error tree. `app.store.mongo` puts the domain's repositories on top."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import DESCENDING, ReturnDocument
from pymongo import errors as mongo_errors

from app.store import documents, errors

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


# Server codes for a query the server refused as written (BadValue, FailedToParse,
# InvalidBSON, a bad regular expression): the caller's input, not the server down.
_REFUSED_QUERY = frozenset({2, 9, 22, 51091, 51108})


def translate(exc: mongo_errors.PyMongoError) -> errors.StoreError:
    if isinstance(exc, mongo_errors.ConnectionFailure | mongo_errors.ExecutionTimeout):
        return errors.StoreUnavailable(f"mongodb: {type(exc).__name__}")
    if isinstance(exc, mongo_errors.OperationFailure) and exc.code in _REFUSED_QUERY:
        return errors.InvalidQuery(f"mongodb: {type(exc).__name__}: {exc}")
    return errors.StoreError(f"mongodb: {type(exc).__name__}: {exc}")


async def guard(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except mongo_errors.DuplicateKeyError:
        raise
    except mongo_errors.PyMongoError as exc:
        raise translate(exc) from exc


def out(model: type[M], doc: Mapping[str, Any] | None) -> M | None:
    if doc is None:
        return None
    return model.model_validate({k: v for k, v in doc.items() if k != "_id"})


def into(record: BaseModel) -> dict[str, Any]:
    doc = documents.to_document(record)
    doc["_id"] = doc["id"]
    return doc


class Collection:
    def __init__(self, collection: Any, model: type[BaseModel]) -> None:
        self.c = collection
        self.model = model

    async def insert(self, record: BaseModel) -> None:
        await guard(self.c.insert_one(into(record)))

    async def aggregate(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # PyMongo's async collection returns the cursor from a coroutine; Motor's API (that
        # mongomock-motor, the tests' stand-in, follows) returns it directly.
        cursor = self.c.aggregate(pipeline)
        if inspect.isawaitable(cursor):
            cursor = await cursor
        docs: list[dict[str, Any]] = await cursor.to_list(None)
        return docs

    async def find_one(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await guard(self.c.find_one(dict(query)))
        return doc

    async def page(
        self,
        query: Mapping[str, Any],
        *,
        offset: int,
        limit: int,
        sort: list[tuple[str, int]] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        total = int(await guard(self.c.count_documents(dict(query))))
        if limit <= 0:
            return [], total
        cursor = self.c.find(dict(query)).sort(sort or NEWEST_FIRST).skip(offset).limit(limit)
        docs: list[dict[str, Any]] = await guard(cursor.to_list(None))
        return docs, total

    async def update(
        self, record_id: str, fields: Mapping[str, Any], expected_revision: int | None
    ) -> dict[str, Any]:
        changes = documents.update_set(self.model, fields)
        changes.update(documents.derived_keys(self.model, record_id, changes))
        query: dict[str, Any] = {"_id": record_id}
        if expected_revision is not None:
            query["revision"] = expected_revision
        sources = documents.status_sources(self.model, changes)
        if sources is not None:
            query["status"] = {"$in": sources}
        doc: dict[str, Any] | None = await guard(
            self.c.find_one_and_update(
                query,
                {"$set": changes, "$inc": {"revision": 1}},
                return_document=ReturnDocument.AFTER,
            )
        )
        if doc is not None:
            return doc
        current = await self.find_one({"_id": record_id})
        documents.refuse_missed_update(self.model, record_id, current, changes, expected_revision)


def checked(model: type[M], doc: Mapping[str, Any]) -> M:
    record = out(model, doc)
    assert record is not None
    return record
