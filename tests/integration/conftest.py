from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.store.sqlite import SQLiteStore


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = await SQLiteStore.open(tmp_path / "store.sqlite3")
    try:
        yield store
    finally:
        await store.close()
