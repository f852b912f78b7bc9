"""The SQLite adapter's leader epochs (`FenceRepository`, the `fences` table).

A fenced write (`Table.update`, `Table.insert` with a `fence`) adds `sqlite_table.HOLDS` to
its own statement, so the comparison with the newest epoch and the write are one atomic
statement: an `advance` lands wholly before or wholly after it.
"""

from __future__ import annotations

import sqlite3

import aiosqlite

from app.store.sqlite_table import translate


class SQLiteFences:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def advance(self, name: str) -> int:
        rows = await self._rows(
            "INSERT INTO fences (name, epoch) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET epoch = epoch + 1 RETURNING epoch",
            name,
        )
        return int(str(rows[0][0]))

    async def current(self, name: str) -> int:
        rows = await self._rows("SELECT epoch FROM fences WHERE name = ?", name)
        return int(str(rows[0][0])) if rows else 0

    async def _rows(self, sql: str, name: str) -> list[tuple[object, ...]]:
        try:
            return [tuple(row) for row in await self._conn.execute_fetchall(sql, (name,))]
        except sqlite3.Error as exc:
            raise translate(exc) from exc
