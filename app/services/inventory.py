"""Reading the whole store in pages, for the passes that look at every database.

    async for database in live_databases(store): ...   deleted ones left out, newest first
    await active_database_ids(store)                     databases with an active operation

Offset pages of `PAGE` records: a record created during the walk may shift a page and be
seen twice or not at all; both passes are idempotent and the next one sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.domain.databases import Database
from app.domain.operations import ACTIVE_STATUSES
from app.store.protocols import DatabaseFilter, OperationFilter, Store

PAGE = 500


async def live_databases(store: Store, *, page: int = PAGE) -> AsyncIterator[Database]:
    offset = 0
    while True:
        found = await store.databases.list(DatabaseFilter(), offset=offset, limit=page)
        for database in found.items:
            yield database
        offset += page
        if not found.items or offset >= found.total:
            return


async def active_database_ids(store: Store, *, page: int = PAGE) -> set[str]:
    ids: set[str] = set()
    for status in ACTIVE_STATUSES:
        offset = 0
        while True:
            found = await store.operations.list(
                OperationFilter(status=status.value), offset=offset, limit=page
            )
            ids.update(op.database_id for op in found.items)
            offset += page
            if not found.items or offset >= found.total:
                break
    return ids
