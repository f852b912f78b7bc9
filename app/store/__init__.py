"""Storage: repository protocols (`protocols.py`) and their adapters (`sqlite.py`, `mongo.py`)."""

from __future__ import annotations

from app.config.settings import Settings
from app.store.protocols import Store


async def open_store(settings: Settings) -> Store:
    """MongoDB when `MONGODB_URL` is set, else the embedded SQLite file under `DATA_DIR`."""
    if settings.mongodb_url:
        from app.store import mongo

        return await mongo.connect(settings.mongodb_url, settings.mongodb_database)
    from app.store.sqlite import SQLiteStore

    return await SQLiteStore.open(settings.sqlite_path, exclusive=True)
