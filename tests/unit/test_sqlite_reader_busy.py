"""The SQLite store's inline reader never waits for a lock on the event loop: a busy file
sends the read to the writer's connection (decision 82)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.domain.databases import Database
from app.store.protocols import DatabaseFilter
from app.store.sqlite import SQLiteStore


class _BusyReader:
    """A reader whose file is locked by another process: SQLite answers at once (busy
    timeout 0) with `database is locked`."""

    def __init__(self) -> None:
        self.asked = 0

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.asked += 1
        raise sqlite3.OperationalError("database is locked")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "store.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_reader_is_set_never_to_wait_for_a_lock(store: SQLiteStore) -> None:
    reader = store.databases._t._reader
    assert reader is not None

    assert reader.execute("PRAGMA busy_timeout").fetchall() == [(0,)]


async def test_a_get_on_a_busy_file_is_answered_by_the_writer(store: SQLiteStore) -> None:
    database = await store.databases.insert(
        Database(name="db", domain="acme", project="web", engine="postgres", version="16")
    )
    busy = _BusyReader()
    store.databases._t._reader = busy  # type: ignore[assignment]

    found = await store.databases.get(database.id)

    assert found == database
    assert busy.asked == 1


async def test_a_tenant_page_on_a_busy_file_is_answered_by_the_writer(
    store: SQLiteStore,
) -> None:
    database = await store.databases.insert(
        Database(name="db", domain="acme", project="web", engine="postgres", version="16")
    )
    busy = _BusyReader()
    store.databases._t._reader = busy  # type: ignore[assignment]

    page = await store.databases.list(DatabaseFilter(domain="acme", project="web"))

    assert (list(page.items), page.total) == ([database], 1)
    assert busy.asked == 1
