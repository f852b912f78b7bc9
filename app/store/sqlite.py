"""SQLite adapter: the embedded store of `make run` and of the tests.

Records are JSON documents in `doc` columns. The rules live in real indexes: a unique
partial index admits one live database per (domain, project, name) and one active operation
per database. Field-level updates use `json_set`, so writers of different fields never
overwrite each other, and compare-and-set compares `revision` in the same statement.

One aiosqlite connection in WAL mode: statements run one at a time on its thread, each
atomic; that is the whole concurrency story and it is enough for one process. This adapter
must not be shared by two processes as a production store (MongoDB is that).

Reads of a database or an API key by id (`get`, on every API request) run inline on the
event loop, on a second, query-only connection (operations, which the engine reads and
compare-and-sets in quick succession, stay on the writer's connection): the lookup takes tens of
microseconds, while a hop to aiosqlite's thread and back costs about 180 µs (measured with
`bench.scale`). WAL lets it read while the writer writes and each read sees every committed
write. Only reads an index answers run there (a page of a tenant's live databases with no
filter on document fields, not deeper than `_INLINE_MAX_OFFSET`, and the latest operation
of each database of such a page, `latest_for`: a list shown to a person, for which an
operation written a moment ago may show at the next refresh). It never waits for a lock
(busy timeout 0, decision 82): a busy file sends the read to the writer's connection, off
the loop.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from app.domain import clock
from app.domain.api_keys import ApiKey
from app.domain.audit import AuditEntry
from app.domain.backup_storages import BackupStorage
from app.domain.backups import Backup
from app.domain.databases import Database
from app.domain.events import Event
from app.domain.operations import Operation
from app.domain.providers import Provider
from app.domain.quotas import Tenant
from app.store import errors, sqlite_backups, sqlite_lock
from app.store import sqlite_schema as schema
from app.store.protocols import (
    NEWEST_FIRST,
    DatabaseFilter,
    DatabaseOrder,
    DatabaseSortKey,
    Fence,
    OperationFilter,
    Page,
)
from app.store.sqlite_backup_storages import SQLiteBackupStorages
from app.store.sqlite_fences import SQLiteFences
from app.store.sqlite_platform import SQLiteApiKeys, SQLiteAudit, SQLiteProviders, SQLiteTenants
from app.store.sqlite_table import (
    Table,
    guard,
    insert_together,
    json_path,
    parse,
    translate,
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_ACTIVE = schema.ACTIVE
_LIVE_TENANT_INDEX = schema.LIVE_TENANT_INDEX
# Deeper pages, and filters on document fields, read documents: not on the event loop.
_INLINE_MAX_OFFSET = 1000


class ScannedText:
    """A record of `scan_lazily`: its stored text, parsed when asked."""

    __slots__ = ("_text", "id", "revision")

    def __init__(self, database_id: str, revision: int, text: str) -> None:
        self.id, self.revision, self._text = database_id, revision, text

    def record(self) -> Database:
        return Database.model_validate_json(self._text)


class SQLiteDatabases:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def insert(self, database: Database) -> Database:
        try:
            await self._t.insert(database)
        except sqlite3.IntegrityError as exc:
            if "databases_live_name" in str(exc):
                raise errors.DuplicateName(
                    database.domain, database.project, database.name
                ) from exc
            raise translate(exc) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return database

    async def get(self, database_id: str) -> Database | None:
        doc = await guard(self._t.get(database_id))
        return None if doc is None else parse(Database, doc)

    async def list(
        self,
        where: DatabaseFilter,
        *,
        offset: int = 0,
        limit: int = 20,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[Database]:
        found = await self.list_texts(where, offset=offset, limit=limit, order=order)
        # Parsed from the stored text by pydantic's own JSON reader: half the time of
        # `json.loads` and then validating the dict (measured on pages of 20).
        return Page([Database.model_validate_json(text) for text in found.items], found.total)

    async def list_texts(
        self,
        where: DatabaseFilter,
        *,
        offset: int = 0,
        limit: int = 20,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[str]:
        clauses: list[str] = []
        params: list[Any] = []
        for field in ("domain", "project", "engine", "status", "provider_id"):
            value = getattr(where, field)
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{field}') = ?")
                params.append(value)
        if where.status is None and not where.include_deleted:
            clauses.append("json_extract(doc, '$.status') != 'deleted'")
        if where.name_prefix:
            clauses.append("substr(json_extract(doc, '$.name'), 1, ?) = ?")
            params += [len(where.name_prefix), where.name_prefix]
        if where.label is not None:
            key, value = where.label
            clauses.append("json_extract(doc, ?) = ?")
            params += [json_path("labels", key), value]
        # A tenant's live databases: the partial index answers the count and the order
        # without parsing a document (the planner would take the full one; measured with
        # bench.scale, 0.8 ms against 0.04 ms for a count over 1,000 databases).
        plain = (
            where.engine is None
            and where.name_prefix is None
            and where.label is None
            and where.provider_id is None
            and offset <= _INLINE_MAX_OFFSET
        )
        index = (
            _LIVE_TENANT_INDEX
            if where.domain is not None
            and where.status is None
            and not where.include_deleted
            and plain
            and order.key is DatabaseSortKey.CREATED_AT
            else None
        )
        direction = "DESC" if order.descending else "ASC"
        # The key is one of the enum's words, never a caller's text.
        by = f"json_extract(doc, '$.{order.key.value}') {direction}, id {direction}"
        texts, total = await guard(
            self._t.page_texts(clauses, params, offset=offset, limit=limit, index=index, order=by)
        )
        return Page(texts, total)

    async def scan(self, *, after: str | None = None, limit: int = 500) -> Sequence[Database]:
        texts = await guard(
            self._t.many_texts(
                "SELECT doc FROM databases WHERE id > ? "
                "AND json_extract(doc, '$.status') != 'deleted' ORDER BY id LIMIT ?",
                (after or "", limit),
            )
        )
        # pydantic's own JSON reader: half the time of `json.loads` and then validating.
        return [Database.model_validate_json(text) for text in texts]

    async def scan_lazily(
        self, *, after: str | None = None, limit: int = 500
    ) -> Sequence[ScannedText]:
        rows = await guard(
            self._t.rows(
                "SELECT id, json_extract(doc, '$.revision'), doc FROM databases WHERE id > ? "
                "AND json_extract(doc, '$.status') != 'deleted' ORDER BY id LIMIT ?",
                (after or "", limit),
            )
        )
        return [ScannedText(str(i), int(revision or 0), str(doc)) for i, revision, doc in rows]

    async def update_fields(
        self,
        database_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Database:
        try:
            doc = await self._t.update(database_id, fields, expected_revision, fence)
        except sqlite3.IntegrityError as exc:
            current = await self.get(database_id)
            if current is not None and "databases_live_name" in str(exc):
                raise errors.DuplicateName(current.domain, current.project, current.name) from exc
            raise translate(exc) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return parse(Database, doc)

    async def count_by_state(self) -> Mapping[tuple[str, str, str], int]:
        rows = await guard(
            self._t.rows(
                "SELECT json_extract(doc, '$.engine'), json_extract(doc, '$.status'), "
                "json_extract(doc, '$.health_status'), COUNT(*) FROM databases "
                "WHERE json_extract(doc, '$.status') != 'deleted' GROUP BY 1, 2, 3",
                (),
            )
        )
        return {(str(e), str(s), str(h)): int(n) for e, s, h, n in rows}

    async def count_using_backup_storage(self, name: str, *, or_unset: bool) -> int:
        # Two seeks on the partial index databases_live_backup_storage (with an OR, SQLite
        # scans the whole index instead).
        live = "FROM databases WHERE json_extract(doc, '$.status') != 'deleted' AND "
        sql = f"SELECT (SELECT count(*) {live}json_extract(doc, '$.backup_storage') = ?)"
        if or_unset:
            sql += f" + (SELECT count(*) {live}json_extract(doc, '$.backup_storage') IS NULL)"
        rows = await guard(self._t.rows(sql, (name,)))
        return int(rows[0][0]) if rows else 0


class SQLiteOperations:
    def __init__(self, table: Table, listing: Table | None = None) -> None:
        self._t = table
        # The same table on the reader, for the index-only reads of a list page
        # (`latest_for`); the engine's reads stay on the writer, in order with its writes.
        self._listing = listing or table

    async def create_active(self, operation: Operation, *, fence: Fence | None = None) -> Operation:
        if not operation.is_active:
            raise ValueError("create_active takes an active operation")
        for _ in range(3):
            try:
                await self._t.insert(operation, fence)
                return operation
            except sqlite3.IntegrityError as exc:
                if "operations_one_active" not in str(exc):
                    raise translate(exc) from exc
            except sqlite3.Error as exc:
                raise translate(exc) from exc
            # The holder may have ended between our insert and this read: try again.
            active = await self.get_active(operation.database_id)
            if active is not None:
                raise errors.OperationInProgress(operation.database_id, active.id)
        raise errors.StoreError("could not claim the active operation slot")

    async def get(self, operation_id: str) -> Operation | None:
        # pydantic's own JSON reader: about half of json.loads and then validating the dict
        # (the engine reads an operation before every step).
        text = await guard(self._t.get_text(operation_id))
        return None if text is None else Operation.model_validate_json(text)

    async def get_active(self, database_id: str) -> Operation | None:
        doc = await guard(
            self._t.one(
                "SELECT doc FROM operations WHERE json_extract(doc, '$.database_id') = ? "
                f"AND json_extract(doc, '$.status') IN {_ACTIVE}",
                (database_id,),
            )
        )
        return None if doc is None else parse(Operation, doc)

    async def list(
        self, where: OperationFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[Operation]:
        clauses: list[str] = []
        params: list[Any] = []
        for field in ("domain", "project", "database_id", "status", "type"):
            value = getattr(where, field)
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{field}') = ?")
                params.append(value)
        docs, total = await guard(self._t.page(clauses, params, offset=offset, limit=limit))
        return Page([parse(Operation, d) for d in docs], total)

    async def latest_for(self, database_ids: Sequence[str]) -> Mapping[str, Operation]:
        # One seek per id on operations_database_created (a correlated subquery per row of
        # json_each), whatever the number of operations each database has: inline on the
        # reader (20 ids: about 0.1 ms, less than a hop to aiosqlite's thread).
        if not database_ids:
            return {}
        rows = await guard(
            self._listing.indexed_rows(
                "SELECT (SELECT o.doc FROM operations AS o "
                "WHERE json_extract(o.doc, '$.database_id') = ids.value "
                "ORDER BY json_extract(o.doc, '$.created_at') DESC, o.id DESC LIMIT 1) "
                "FROM json_each(?) AS ids",
                (json.dumps(list(database_ids)),),
            )
        )
        # pydantic's own JSON reader: about half of json.loads and then validating the dict.
        latest = [Operation.model_validate_json(doc) for (doc,) in rows if doc is not None]
        return {o.database_id: o for o in latest}

    async def update_fields(
        self, operation_id: str, fields: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Operation:
        text = await guard(self._t.update_text(operation_id, fields, expected_revision))
        return Operation.model_validate_json(text)

    async def list_stalled(self, *, due_before: datetime, limit: int = 500) -> Sequence[Operation]:
        cutoff = clock.to_text(due_before)
        docs = await guard(
            self._t.many(
                "SELECT doc FROM operations WHERE json_extract(doc, '$.status') IN "
                f"{_ACTIVE} AND ("
                "(json_extract(doc, '$.status') != 'running' "
                " AND (json_extract(doc, '$.next_run_at') < ? "
                "      OR coalesce(json_extract(doc, '$.deadline_at'), '9') < ?)) OR "
                "(json_extract(doc, '$.status') = 'running' "
                " AND coalesce(json_extract(doc, '$.lease_expires_at'), '') < ?)) "
                "ORDER BY json_extract(doc, '$.next_run_at') LIMIT ?",
                (cutoff, cutoff, cutoff, limit),
            )
        )
        return [parse(Operation, d) for d in docs]


class SQLiteEvents:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def append(self, event: Event, *, fence: Fence | None = None) -> Event:
        await guard(self._t.insert(event, fence))
        return event

    async def list_for_database(
        self, database_id: str, *, offset: int = 0, limit: int = 20
    ) -> Page[Event]:
        docs, total = await guard(
            self._t.page(
                ["json_extract(doc, '$.database_id') = ?"],
                [database_id],
                offset=offset,
                limit=limit,
            )
        )
        return Page([parse(Event, d) for d in docs], total)


class SQLiteStore:
    backend = "sqlite"

    def __init__(
        self,
        conn: aiosqlite.Connection,
        reader: sqlite3.Connection | None = None,
        *,
        lock: Path | None = None,
    ) -> None:
        self._conn = conn
        self._reader = reader
        self._lock = lock
        # Inline reads for what every API request reads (its key, the database); the
        # operation engine reads operations through the writer, in order with its writes.
        self.databases = SQLiteDatabases(Table(conn, "databases", Database, reader))
        self.operations = SQLiteOperations(
            Table(conn, "operations", Operation), Table(conn, "operations", Operation, reader)
        )
        self.events = SQLiteEvents(Table(conn, "events", Event))
        self.api_keys = SQLiteApiKeys(Table(conn, "api_keys", ApiKey, reader))
        self.providers = SQLiteProviders(Table(conn, "providers", Provider))
        self.backup_storages = SQLiteBackupStorages(
            conn, Table(conn, "backup_storages", BackupStorage)
        )
        self.audit = SQLiteAudit(Table(conn, "audit", AuditEntry))
        self.tenants = SQLiteTenants(Table(conn, "tenants", Tenant))
        self.backups = sqlite_backups.SQLiteBackups(Table(conn, "backups", Backup))
        self.fences = SQLiteFences(conn)

    @classmethod
    async def open(cls, path: Path | str, *, exclusive: bool = False) -> SQLiteStore:
        """`exclusive`: hold the one-process lock beside the file while open (the app does;
        raises sqlite_lock.StoreLocked when another process has it)."""
        lock = None
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            lock = sqlite_lock.acquire(Path(path)) if exclusive else None
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            if lock is not None:
                sqlite_lock.release(lock)
            raise translate(exc) from exc
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.executescript(schema.SCHEMA)
            await conn.executescript(sqlite_backups.SCHEMA)
            reader = None
            if str(path) != ":memory:":  # a second :memory: connection is another database
                reader = sqlite3.connect(str(path), isolation_level=None)
                reader.execute("PRAGMA busy_timeout=0")  # never wait on the event loop
                reader.execute("PRAGMA query_only=1")
        except BaseException as exc:
            # aiosqlite's thread is not a daemon: an unclosed connection keeps the process
            # alive for ever.
            await conn.close()
            if lock is not None:
                sqlite_lock.release(lock)
            if isinstance(exc, sqlite3.Error):
                raise translate(exc) from exc
            raise
        return cls(conn, reader, lock=lock)

    async def create_database(self, database: Database, operation: Operation) -> None:
        try:
            await insert_together(self._conn, [("databases", database), ("operations", operation)])
        except sqlite3.IntegrityError as exc:
            if "databases_live_name" in str(exc):
                raise errors.DuplicateName(
                    database.domain, database.project, database.name
                ) from exc
            raise translate(exc) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def ping(self) -> None:
        try:
            async with self._conn.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        except (sqlite3.Error, ValueError) as exc:  # ValueError: connection closed
            raise errors.StoreUnavailable(f"sqlite: {exc}") from exc

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        await self._conn.close()
        if self._lock is not None:
            sqlite_lock.release(self._lock)
            self._lock = None
