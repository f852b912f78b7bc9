"""Listing databases: a tenant's, or every one a key may see, newest first unless told.

Apart from `DatabaseService` (which decides changes) because a list is a plain read of the
store; the API reaches it as a service all the same, never the store itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from app.domain.databases import Database
from app.domain.operations import Operation
from app.store.protocols import NEWEST_FIRST, DatabaseFilter, DatabaseOrder, Page, Store


class DatabaseLists:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(
        self,
        where: DatabaseFilter,
        *,
        offset: int,
        limit: int,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[Database]:
        """Databases matching `where`, in `order`, ties broken by id."""
        return await self._store.databases.list(where, offset=offset, limit=limit, order=order)

    async def page_texts(
        self,
        where: DatabaseFilter,
        *,
        offset: int,
        limit: int,
        order: DatabaseOrder = NEWEST_FIRST,
    ) -> Page[str]:
        """`page`, each record as its JSON document, unchecked (`DatabaseRepository.
        list_texts`): for the API's list, which writes only its own fields (issue 19)."""
        return await self._store.databases.list_texts(
            where, offset=offset, limit=limit, order=order
        )

    async def last_operations(self, databases: Sequence[Database]) -> Mapping[str, Operation]:
        """The newest operation of each listed database, by database id, in one store call
        (a list's page reads them together, never one per row)."""
        return await self._store.operations.latest_for([d.id for d in databases])

    async def names(self, database_ids: Iterable[str]) -> dict[str, str]:
        """The names of these databases (deleted ones too) by id; one read each, so a caller
        asks for a page's worth, never a whole table's."""
        found = [await self._store.databases.get(database_id) for database_id in database_ids]
        return {database.id: database.name for database in found if database is not None}
