"""SQLite adapter: backup storages (`BackupStorageRepository`). Same table helpers and rules
as `sqlite` (JSON documents, compare-and-set on `revision`); a unique index over the name and
one over `default_key` (`documents.DEFAULT_KEY` on the default) keep names unique and the
default single. Split from `sqlite_platform` for size."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

import aiosqlite

from app.domain import clock
from app.domain.backup_storages import BackupStorage
from app.store import documents, errors
from app.store.protocols import Page
from app.store.sqlite_table import Table, guard, parse, translate


class SQLiteBackupStorages:
    def __init__(self, conn: aiosqlite.Connection, table: Table) -> None:
        self._conn = conn
        self._t = table

    async def insert(self, storage: BackupStorage) -> BackupStorage:
        if storage.is_default:
            raise ValueError("a backup storage is inserted as not the default")
        try:
            await self._t.insert(storage)
        except sqlite3.IntegrityError as exc:
            raise errors.NameTaken("backup storage", storage.name) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return storage

    async def get(self, storage_id: str) -> BackupStorage | None:
        doc = await guard(self._t.get(storage_id))
        return None if doc is None else parse(BackupStorage, doc)

    async def get_by_name(self, name: str) -> BackupStorage | None:
        return await self._one_where("json_extract(doc, '$.name') = ?", name)

    async def get_default(self) -> BackupStorage | None:
        return await self._one_where(
            "json_extract(doc, '$.default_key') = ?", documents.DEFAULT_KEY
        )

    async def _one_where(self, clause: str, value: str) -> BackupStorage | None:
        doc = await guard(self._t.one(f"SELECT doc FROM backup_storages WHERE {clause}", (value,)))
        return None if doc is None else parse(BackupStorage, doc)

    async def list(self, *, offset: int = 0, limit: int = 20) -> Page[BackupStorage]:
        docs, total = await guard(self._t.page([], [], offset=offset, limit=limit))
        return Page([parse(BackupStorage, d) for d in docs], total)

    async def update_fields(
        self,
        storage_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> BackupStorage:
        doc = await guard(self._t.update(storage_id, fields, expected_revision))
        return parse(BackupStorage, doc)

    async def make_default(self, storage_id: str) -> BackupStorage:
        now = clock.to_text(clock.utcnow())
        bump = "'$.revision', json_extract(doc, '$.revision') + 1, '$.updated_at', ?"

        def run(db: sqlite3.Connection) -> str | None:
            # One transaction, run whole on aiosqlite's thread (see `insert_together`): the
            # old default is unset before the new one is set, so the unique index never sees
            # two at once.
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "UPDATE backup_storages SET doc = json_set(doc, '$.is_default', json('false'), "
                    f"'$.default_key', id, {bump}) "
                    "WHERE json_extract(doc, '$.default_key') = ? AND id != ?",
                    (now, documents.DEFAULT_KEY, storage_id),
                )
                rows = db.execute(
                    "UPDATE backup_storages SET doc = json_set(doc, '$.is_default', json('true'), "
                    f"'$.default_key', ?, {bump}) WHERE id = ? RETURNING doc",
                    (documents.DEFAULT_KEY, now, storage_id),
                ).fetchall()
                db.execute("COMMIT" if rows else "ROLLBACK")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return str(rows[0][0]) if rows else None

        try:
            doc = await self._conn._execute(run, self._conn._conn)  # type: ignore[no-untyped-call]
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        if doc is None:
            raise errors.NotFound("backup_storage", storage_id)
        return parse(BackupStorage, json.loads(doc))

    async def delete(self, storage_id: str, *, expected_revision: int | None = None) -> bool:
        sql = "DELETE FROM backup_storages WHERE id = ?"
        params: list[Any] = [storage_id]
        if expected_revision is not None:
            sql += " AND json_extract(doc, '$.revision') = ?"
            params.append(expected_revision)
        gone = await guard(self._t.rows(sql + " RETURNING id", params))
        return bool(gone)
