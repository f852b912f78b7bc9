"""The SQLite adapter's building blocks: one table of JSON documents (`Table`), and the
translation of sqlite3's errors into the store's error tree. `app.store.sqlite` puts the
domain's repositories on top."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from app.store import documents, errors
from app.store.protocols import Fence

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
# (table name, record) for `insert_together`.
Table_Record = tuple[str, BaseModel]
# A fenced statement's condition (`app.store.sqlite_fences`): no newer epoch of the name.
NEWEST_FIRST = "json_extract(doc, '$.created_at') DESC, id DESC"
HOLDS = "NOT EXISTS (SELECT 1 FROM fences WHERE name = ? AND epoch > ?)"


# The result codes that mean the file cannot be used now (busy, locked, I/O, full...): a
# dependency down. Any other `OperationalError` is SQLite refusing a statement we built: a
# defect of ours (a plain StoreError, answered 500), never the caller's fault (queries built
# from a caller's input are checked before they reach SQLite: `json_path`).
_DOWN = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
    "SQLITE_NOMEM",
    "SQLITE_PROTOCOL",
    "SQLITE_INTERRUPT",
    "SQLITE_READONLY",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_PERM",
    "SQLITE_ABORT",
)


def json_path(field: str, key: str) -> str:
    # Quoted member names accept dots and slashes (`app.kubernetes.io/name`); label keys
    # cannot hold a double quote or a NUL (which would end the path early), and this
    # refuses them rather than escape them.
    if '"' in key or "\0" in key:
        raise errors.InvalidQuery("label keys cannot contain '\"' or NUL")
    return f'$.{field}."{key}"'


def translate(exc: sqlite3.Error) -> errors.StoreError:
    if isinstance(exc, sqlite3.InterfaceError):  # a closed connection
        return errors.StoreUnavailable(f"sqlite: {exc}")
    if isinstance(exc, sqlite3.OperationalError):
        name = getattr(exc, "sqlite_errorname", None) or ""
        if not name or name.startswith(_DOWN):
            return errors.StoreUnavailable(f"sqlite: {exc}")
    return errors.StoreError(f"sqlite: {exc}")


class Table:
    """Document CRUD on one table; the repositories add the domain's words on top."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        name: str,
        model: type[BaseModel],
        reader: sqlite3.Connection | None = None,
    ) -> None:
        self._conn = conn
        self._reader = reader
        self.name = name
        self.model = model

    async def insert(self, record: BaseModel, fence: Fence | None = None) -> None:
        doc = documents.to_document(record)
        values = (doc["id"], json.dumps(doc))
        if fence is None:
            await self._conn.execute(f"INSERT INTO {self.name} (id, doc) VALUES (?, ?)", values)
            return
        sql = f"INSERT INTO {self.name} (id, doc) SELECT ?, ? WHERE {HOLDS} RETURNING id"
        if not await self._all(sql, [*values, fence.name, fence.epoch]):
            await self.refuse_if_stale(fence)

    async def refuse_if_stale(self, fence: Fence) -> None:
        """After a fenced statement changed nothing: raise `Fenced` if that was why."""
        rows = await self._all("SELECT epoch FROM fences WHERE name = ?", [fence.name])
        newest = int(rows[0][0]) if rows else 0
        if newest > fence.epoch:
            raise errors.Fenced(fence.name, fence.epoch, newest)

    async def get(self, record_id: str) -> dict[str, Any] | None:
        text = await self.get_text(record_id)
        return None if text is None else dict(json.loads(text))

    async def get_text(self, record_id: str) -> str | None:
        """The document's stored JSON text (for a model's own JSON reader), or None."""
        sql = f"SELECT doc FROM {self.name} WHERE id = ?"
        if self._reader is not None:
            # fetchall, not fetchone: a statement left unfinished keeps its read transaction
            # open, and later reads on this connection would see that old snapshot.
            rows = self._inline(sql, (record_id,))
            if rows:
                return str(rows[0][0])
            # A row the writer committed a moment ago has been seen missing here (under
            # load, bench.queue): a miss is confirmed on the writer's connection.
        rows = await self._all(sql, (record_id,))
        return str(rows[0][0]) if rows else None

    def _inline(self, sql: str, params: Sequence[Any]) -> list[Any] | None:
        """Rows read on the event loop from the reader, or None when the file was busy: the
        reader never waits for a lock (busy timeout 0), so a read on the loop costs the
        lookup and nothing more; the caller then asks the writer's connection, on
        aiosqlite's thread."""
        assert self._reader is not None
        try:
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if isinstance(translate(exc), errors.StoreUnavailable):
                return None
            raise

    async def _all(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row, in one call on aiosqlite's thread: the statement runs to its end
        before any other coroutine's. A statement left open between calls (an `UPDATE ...
        RETURNING` read with `fetchone`) made `insert_together`'s COMMIT fail with "SQL
        statements in progress" under concurrent requests."""
        return [tuple(row) for row in await self._conn.execute_fetchall(sql, params)]

    async def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Plain result rows (aggregates), on the writer's connection."""
        return await self._all(sql, params)

    async def indexed_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of a read an index answers in microseconds: inline on the reader, like
        `get`, when the table has one (else on the writer's connection)."""
        rows = None if self._reader is None else self._inline(sql, params)
        if rows is None:
            return await self._all(sql, params)
        return [tuple(row) for row in rows]

    async def one(self, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
        rows = await self._all(sql, params)
        return dict(json.loads(rows[0][0])) if rows else None

    async def many(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in await self._all(sql, params)]

    async def many_texts(self, sql: str, params: Sequence[Any]) -> list[str]:
        """The documents' stored JSON text, for a model's own JSON reader."""
        return [str(row[0]) for row in await self._all(sql, params)]

    async def page(
        self,
        where: list[str],
        params: list[Any],
        *,
        offset: int,
        limit: int,
        index: str | None = None,
        order: str = NEWEST_FIRST,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of documents and the total: `page_texts`, each document parsed."""
        texts, total = await self.page_texts(
            where, params, offset=offset, limit=limit, index=index, order=order
        )
        return [json.loads(text) for text in texts], total

    async def page_texts(
        self,
        where: list[str],
        params: list[Any],
        *,
        offset: int,
        limit: int,
        index: str | None = None,
        order: str = NEWEST_FIRST,
    ) -> tuple[list[str], int]:
        """A page of documents as their stored JSON text, and the total, in `order` (an
        ORDER BY clause we built, never a caller's text). With `index` (a query the index
        answers in tens of microseconds), it runs inline on the reader, like `get`; else
        the count and the page run together in one call on aiosqlite's thread (one hop, and
        no other statement between them). Not `count(*) OVER ()`: a window over the page
        query copies every matching document to count them, where the count alone reads an
        index."""
        clause = " AND ".join(where) or "1"
        source = self.name if index is None else f"{self.name} INDEXED BY {index}"
        count = f"SELECT count(*) FROM {source} WHERE {clause}"
        select = f"SELECT doc FROM {source} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?"
        paged = [*params, limit, offset]

        def run(db: sqlite3.Connection) -> tuple[list[str], int]:
            total = int(db.execute(count, params).fetchall()[0][0])
            return [row[0] for row in db.execute(select, paged).fetchall()], total

        if index is not None and self._reader is not None:
            try:
                return run(self._reader)
            except sqlite3.OperationalError as exc:
                if not isinstance(translate(exc), errors.StoreUnavailable):
                    raise  # busy: read on the writer's connection instead, below
        result: tuple[list[str], int] = await self._conn._execute(  # type: ignore[no-untyped-call]
            run, self._conn._conn
        )
        return result

    async def update(
        self,
        record_id: str,
        fields: Mapping[str, Any],
        expected_revision: int | None,
        fence: Fence | None = None,
    ) -> dict[str, Any]:
        return dict(json.loads(await self.update_text(record_id, fields, expected_revision, fence)))

    async def update_text(
        self,
        record_id: str,
        fields: Mapping[str, Any],
        expected_revision: int | None,
        fence: Fence | None = None,
    ) -> str:
        """`update`, answering the document's new JSON text (for a model's own reader)."""
        changes = documents.update_set(self.model, fields)
        changes.update(documents.derived_keys(self.model, record_id, changes))
        assignments = ", ".join(f"'$.{name}', json(?)" for name in changes)
        params: list[Any] = [json.dumps(value) for value in changes.values()]
        sql = (
            f"UPDATE {self.name} SET doc = json_set(doc, {assignments}, "
            "'$.revision', json_extract(doc, '$.revision') + 1) WHERE id = ?"
        )
        params.append(record_id)
        if expected_revision is not None:
            sql += " AND json_extract(doc, '$.revision') = ?"
            params.append(expected_revision)
        if fence is not None:
            sql += f" AND {HOLDS}"
            params += [fence.name, fence.epoch]
        sources = documents.status_sources(self.model, changes)
        if sources is not None:
            sql += f" AND json_extract(doc, '$.status') IN ({', '.join('?' * len(sources))})"
            params += sources
        rows = await self._all(sql + " RETURNING doc", params)
        if rows:
            return str(rows[0][0])
        if fence is not None:
            await self.refuse_if_stale(fence)
        current = await self.get(record_id)
        documents.refuse_missed_update(self.model, record_id, current, changes, expected_revision)


async def insert_together(conn: aiosqlite.Connection, records: Sequence[Table_Record]) -> None:
    """Insert documents into several tables in one transaction: all or none.

    The connection is shared by every coroutine, so the transaction must not span an
    `await` (another writer's statement would join it): the whole of it runs as one call on
    aiosqlite's thread, through `_execute`, the method its every public call goes through."""

    def run(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, record in records:
                doc = documents.to_document(record)
                db.execute(
                    f"INSERT INTO {table} (id, doc) VALUES (?, ?)", (doc["id"], json.dumps(doc))
                )
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT leaves the transaction open: every later statement of the
            # shared connection would join it, uncommitted, and every later BEGIN fail.
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    await conn._execute(run, conn._conn)  # type: ignore[no-untyped-call]


def parse(model: type[M], doc: Mapping[str, Any]) -> M:
    return model.model_validate(doc)


async def guard(awaitable: Awaitable[T]) -> T:
    try:
        result = await awaitable
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    return result
