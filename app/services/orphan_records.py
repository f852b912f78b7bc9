"""Rolling back creates that never got their operation (issue 12, item 21).

A create writes its record (which holds the name, the provider's capacity and the quota)
and its first operation. SQLite writes both in one transaction; MongoDB writes the record
first, and the create with the user's own credentials writes its secret between the two
(`Store.create_database`, `DatabaseService._insert_then_submit`). A process killed in that
gap leaves a `pending` record with no operation at all: nothing will ever run it.

The leader's reconciliation pass finds such records once they are older than a grace
period (`ORPHAN_RECORD_GRACE`: longer than any request takes) and rolls them back: the
record becomes `deleted` (the name is free again), `Placement.settle` gives back the
capacity and the quota, and a `CreateAbandoned` event says why. Rolled back, not finished:
the request that wrote the record never answered 202, so its client was told (or will
assume) that nothing was accepted, and may send it again.

Must not: touch a record that has, or ever had, an operation; write without `fence()`
and the epoch it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from app.domain import clock
from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.observability.log import get_logger
from app.services.placement import Placement
from app.store import errors as store_errors
from app.store.protocols import DatabaseFilter, Fence, OperationFilter, Store

log = get_logger(__name__)

ACTOR = "reconciler"
MESSAGE = "creation was never started (the request stopped before its operation was written)"
_PAGE = 200


class OrphanRecords:
    def __init__(self, store: Store, placement: Placement | None, *, grace: float) -> None:
        self._store = store
        self._placement = placement
        self._grace = grace

    async def roll_back(self, fence: Callable[[], Fence | None]) -> int:
        """Roll back every orphan older than the grace period; how many were."""
        cutoff = clock.utcnow() - timedelta(seconds=self._grace)
        rolled_back, offset = 0, 0
        while True:
            page = await self._store.databases.list(
                DatabaseFilter(status=DatabaseStatus.PENDING.value),
                offset=offset,
                limit=_PAGE,
            )
            for database in page.items:
                if database.operation_id is None and database.created_at < cutoff:
                    rolled_back += await self._roll_back(database, fence)
            offset += _PAGE
            if offset >= page.total or not page.items:
                return rolled_back

    async def _roll_back(self, database: Database, fence: Callable[[], Fence | None]) -> int:
        ever = await self._store.operations.list(OperationFilter(database_id=database.id), limit=1)
        if ever.total:
            return 0  # it has an operation: only the write of its id was lost
        held = fence()  # the epoch we lead with: the store refuses it once it is stale
        try:
            await self._store.databases.update_fields(
                database.id,
                {"status": DatabaseStatus.DELETED, "message": MESSAGE},
                expected_revision=database.revision,
                fence=held,
            )
        except store_errors.RevisionConflict:
            return 0  # changed meanwhile: the next pass looks again
        if self._placement is not None:
            await self._placement.settle(database.id, fence=held)
        await self._store.events.append(
            Event(
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                reason="CreateAbandoned",
                message=MESSAGE,
                actor=ACTOR,
                from_status=DatabaseStatus.PENDING.value,
                to_status=DatabaseStatus.DELETED.value,
            ),
            fence=held,
        )
        log.warning(
            "orphan_record_rolled_back",
            database_id=database.id,
            name=database.name,
            domain=database.domain,
            project=database.project,
            created_at=clock.to_text(database.created_at),
        )
        return 1
