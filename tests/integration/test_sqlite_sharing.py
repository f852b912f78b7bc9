"""The embedded store under contention: one process per file (a lock), and writers that meet
another connection's write lock wait for it (the busy timeout) instead of failing at once."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from app.domain.databases import Database
from app.store import sqlite_lock
from app.store.sqlite import SQLiteStore

pytestmark = pytest.mark.timeout(30)


async def test_a_second_exclusive_open_of_the_same_file_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    first = await SQLiteStore.open(path, exclusive=True)
    try:
        # Another process is another open file description: flock refuses it.
        fd = sqlite_lock.lock_path(path).open("rb")
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        fd.close()
    finally:
        await first.close()
    again = await SQLiteStore.open(path, exclusive=True)  # released on close
    await again.close()


async def test_writers_wait_for_another_connections_write_lock_instead_of_failing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SQLiteStore.open(path)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO events (id, doc) VALUES ('held', '{}')")
        # The other writer holds its lock for 0.3 s: the fault, not a wait for a condition.
        release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
        release.start()
        began = time.monotonic()
        written = await asyncio.gather(
            *(
                store.databases.insert(
                    Database(
                        name=f"db-{i}",
                        domain="acme",
                        project="shop",
                        engine="postgres",
                        version="16.13",
                        storage_gb=10,
                    )
                )
                for i in range(10)
            )
        )
        waited = time.monotonic() - began
        release.join()
    finally:
        holder.close()
        await store.close()

    assert len(written) == 10
    assert waited >= 0.25
