"""SQLite adapter of the backup records (`protocols.BackupRepository`): same table helpers
and rules as `sqlite` (JSON documents, compare-and-set on `revision`). One Snapshot is one
record: a unique index on (provider, namespace, snapshot name) keeps the sync and the
backup operation from writing it twice."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.backups import Backup
from app.store import errors
from app.store.protocols import BackupFilter, Page
from app.store.sqlite_table import Table, guard, parse, translate

SCHEMA = """
CREATE TABLE IF NOT EXISTS backups (
    id TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc))
);
CREATE UNIQUE INDEX IF NOT EXISTS backups_snapshot ON backups (
    json_extract(doc, '$.provider_id'), json_extract(doc, '$.namespace'),
    json_extract(doc, '$.snapshot_name')
) WHERE json_extract(doc, '$.snapshot_name') IS NOT NULL;
CREATE INDEX IF NOT EXISTS backups_database_created ON backups (
    json_extract(doc, '$.database_id'), json_extract(doc, '$.created_at')
);
CREATE INDEX IF NOT EXISTS backups_tenant_created ON backups (
    json_extract(doc, '$.domain'), json_extract(doc, '$.project'),
    json_extract(doc, '$.created_at')
);
"""


class SQLiteBackups:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def insert(self, backup: Backup) -> Backup:
        try:
            await self._t.insert(backup)
        except sqlite3.IntegrityError as exc:
            raise errors.Conflict(f"snapshot {backup.snapshot_name} is recorded already") from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return backup

    async def get(self, backup_id: str) -> Backup | None:
        doc = await guard(self._t.get(backup_id))
        return None if doc is None else parse(Backup, doc)

    async def find_snapshot(
        self, provider_id: str, namespace: str, snapshot_name: str
    ) -> Backup | None:
        doc = await guard(
            self._t.one(
                "SELECT doc FROM backups WHERE json_extract(doc, '$.provider_id') = ? AND "
                "json_extract(doc, '$.namespace') = ? AND "
                "json_extract(doc, '$.snapshot_name') = ?",
                (provider_id, namespace, snapshot_name),
            )
        )
        return None if doc is None else parse(Backup, doc)

    async def list(self, where: BackupFilter, *, offset: int = 0, limit: int = 20) -> Page[Backup]:
        clauses: list[str] = []
        params: list[Any] = []
        for field in ("domain", "project", "database_id", "status"):
            value = getattr(where, field)
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{field}') = ?")
                params.append(value)
        if not where.include_removed:
            clauses.append("json_extract(doc, '$.removed_at') IS NULL")
        docs, total = await guard(self._t.page(clauses, params, offset=offset, limit=limit))
        return Page([parse(Backup, d) for d in docs], total)

    async def live(
        self, provider_id: str, *, after: str | None = None, limit: int = 500
    ) -> Sequence[Backup]:
        docs = await guard(
            self._t.many(
                "SELECT doc FROM backups WHERE json_extract(doc, '$.provider_id') = ? AND "
                "json_extract(doc, '$.removed_at') IS NULL AND id > ? ORDER BY id LIMIT ?",
                (provider_id, after or "", limit),
            )
        )
        return [parse(Backup, d) for d in docs]

    async def update_fields(
        self, backup_id: str, fields: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Backup:
        try:
            doc = await self._t.update(backup_id, fields, expected_revision)
        except sqlite3.IntegrityError as exc:
            raise errors.Conflict(f"snapshot {fields.get('snapshot_name')} is recorded") from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return parse(Backup, doc)

    async def totals(self) -> Mapping[tuple[str, str, str], tuple[int, int]]:
        rows = await guard(
            self._t.rows(
                "SELECT json_extract(doc, '$.storage'), json_extract(doc, '$.type'), "
                "json_extract(doc, '$.status'), COUNT(*), "
                "COALESCE(SUM(json_extract(doc, '$.size_bytes')), 0) FROM backups "
                "WHERE json_extract(doc, '$.removed_at') IS NULL GROUP BY 1, 2, 3",
                (),
            )
        )
        return {(str(a), str(b), str(c)): (int(n), int(size)) for a, b, c, n, size in rows}
