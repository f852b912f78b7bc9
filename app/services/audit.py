"""Writing and reading the audit log (`app.domain.audit` says what goes in it).

A write that fails (the store down) is logged with the entry's fields and dropped: the
request it describes has been answered already, and refusing requests because the audit
log is unavailable would turn a store outage into a total one.
"""

from __future__ import annotations

from app.domain.audit import AuditEntry
from app.observability.log import get_logger
from app.store import errors as store_errors
from app.store.protocols import AuditFilter, Page, Store

log = get_logger(__name__)


class AuditLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, entry: AuditEntry) -> None:
        try:
            await self._store.audit.append(entry)
        except store_errors.StoreError as exc:
            log.error(
                "audit_write_failed",
                error=str(exc),
                action=entry.action,
                actor_key_id=entry.actor_key_id,
                target=entry.target,
                outcome=entry.outcome,
                request_id=entry.request_id,
            )

    async def page(self, where: AuditFilter, *, offset: int, limit: int) -> Page[AuditEntry]:
        return await self._store.audit.list(where, offset=offset, limit=limit)
