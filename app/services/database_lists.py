"""Listing databases: a tenant's, or every one a key may see, newest first.

Apart from `DatabaseService` (which decides changes) because a list is a plain read of the
store; the API reaches it as a service all the same, never the store itself.
"""

from __future__ import annotations

from app.domain.databases import Database
from app.store.protocols import DatabaseFilter, Page, Store


class DatabaseLists:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(self, where: DatabaseFilter, *, offset: int, limit: int) -> Page[Database]:
        """Databases matching `where`, newest first."""
        return await self._store.databases.list(where, offset=offset, limit=limit)
