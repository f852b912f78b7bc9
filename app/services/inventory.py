"""Reading the whole store in pages, for the passes that look at every database.

    async for scanned in live_records(store): ...      deleted ones left out, in id order,
                                                        each record parsed when asked
    await active_database_ids(store)                     databases with an active operation

Databases are walked by id (keyset pages of `PAGE`: each page is one index range read, so
a walk over 10,000 records costs 20 reads, not a sort per page); a record created during
the walk is seen by this pass or the next. Operations are read in offset pages of one
status at a time (few are active at once).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.domain.operations import ACTIVE_STATUSES
from app.store.protocols import OperationFilter, Scanned, Store

PAGE = 500


async def live_records(store: Store, *, page: int = PAGE) -> AsyncIterator[Scanned]:
    """The live databases, each record parsed only when asked (`Scanned.record()`)."""
    after: str | None = None
    while True:
        found = await store.databases.scan_lazily(after=after, limit=page)
        for scanned in found:
            yield scanned
        if len(found) < page:
            return
        after = found[-1].id


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
