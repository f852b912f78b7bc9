"""SQLite adapter, the platform's own records: API keys, providers, the audit trail and
tenants (quotas). Same table helpers and rules as `sqlite` (JSON documents, compare-and-set
on `revision`); split from it only for size, and it must stay free of database and
operation logic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.domain import clock
from app.domain.api_keys import ApiKey
from app.domain.audit import AuditEntry
from app.domain.providers import Provider
from app.domain.quotas import Tenant
from app.store import errors
from app.store.protocols import ApiKeyFilter, AuditFilter, Fence, Page, ProviderFilter
from app.store.sqlite_table import Table, guard, parse, translate


class SQLiteApiKeys:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def insert(self, key: ApiKey) -> ApiKey:
        try:
            await self._t.insert(key)
        except sqlite3.IntegrityError as exc:
            raise errors.Conflict(f"an API key with id {key.id} exists") from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return key

    async def get(self, key_id: str) -> ApiKey | None:
        doc = await guard(self._t.get(key_id))
        return None if doc is None else parse(ApiKey, doc)

    async def list(
        self, where: ApiKeyFilter | None = None, *, offset: int = 0, limit: int = 20
    ) -> Page[ApiKey]:
        clauses: list[str] = []
        params: list[Any] = []
        for field in ("domain", "project"):
            value = None if where is None else getattr(where, field)
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{field}') = ?")
                params.append(value)
        docs, total = await guard(self._t.page(clauses, params, offset=offset, limit=limit))
        return Page([parse(ApiKey, d) for d in docs], total)

    async def mark_used(self, key_id: str, *, at: datetime, unless_since: datetime) -> bool:
        doc = await guard(
            self._t.one(
                "UPDATE api_keys SET doc = json_set(doc, '$.last_used_at', ?) WHERE id = ? "
                "AND coalesce(json_extract(doc, '$.last_used_at'), '') < ? RETURNING doc",
                (clock.to_text(at), key_id, clock.to_text(unless_since)),
            )
        )
        return doc is not None

    async def revoke(self, key_id: str, *, at: datetime) -> ApiKey:
        # json_set on a path that exists replaces it; coalesce keeps the first revocation.
        doc = await guard(
            self._t.one(
                "UPDATE api_keys SET doc = json_set(doc, '$.revoked_at', "
                "coalesce(json_extract(doc, '$.revoked_at'), ?)) WHERE id = ? RETURNING doc",
                (clock.to_text(at), key_id),
            )
        )
        if doc is None:
            raise errors.NotFound("api_key", key_id)
        return parse(ApiKey, doc)

    async def count(self) -> int:
        _docs, total = await guard(self._t.page([], [], offset=0, limit=0))
        return total


class SQLiteProviders:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def insert(self, provider: Provider) -> Provider:
        try:
            await self._t.insert(provider)
        except sqlite3.IntegrityError as exc:
            raise errors.NameTaken("provider", provider.name) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return provider

    async def get(self, provider_id: str) -> Provider | None:
        doc = await guard(self._t.get(provider_id))
        return None if doc is None else parse(Provider, doc)

    async def list(
        self, where: ProviderFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[Provider]:
        clauses: list[str] = []
        params: list[Any] = []
        for field in ("region", "availability_zone", "is_active"):
            value = getattr(where, field)
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{field}') = ?")
                params.append(value)
        docs, total = await guard(self._t.page(clauses, params, offset=offset, limit=limit))
        return Page([parse(Provider, d) for d in docs], total)

    async def all(self) -> Sequence[Provider]:
        docs = await guard(self._t.many("SELECT doc FROM providers ORDER BY id", ()))
        return [parse(Provider, d) for d in docs]

    async def update_fields(
        self,
        provider_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Provider:
        try:
            doc = await self._t.update(provider_id, fields, expected_revision, fence)
        except sqlite3.IntegrityError as exc:
            raise errors.NameTaken("provider", str(fields.get("name"))) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return parse(Provider, doc)

    async def delete(self, provider_id: str, *, expected_revision: int | None = None) -> bool:
        sql = "DELETE FROM providers WHERE id = ?"
        params: list[Any] = [provider_id]
        if expected_revision is not None:
            sql += " AND json_extract(doc, '$.revision') = ?"
            params.append(expected_revision)
        gone = await guard(self._t.rows(sql + " RETURNING id", params))
        return bool(gone)


class SQLiteAudit:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def append(self, entry: AuditEntry) -> AuditEntry:
        await guard(self._t.insert(entry))
        return entry

    async def list(
        self, where: AuditFilter, *, offset: int = 0, limit: int = 20
    ) -> Page[AuditEntry]:
        clauses: list[str] = []
        params: list[Any] = []
        for field in ("domain", "project", "actor_key_id", "target", "outcome"):
            value = getattr(where, field)
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{field}') = ?")
                params.append(value)
        if where.scope is not None:
            clauses.append("coalesce(json_extract(doc, '$.scope'), 'tenant') = ?")
            params.append(where.scope.value)
        if where.since is not None:
            clauses.append("json_extract(doc, '$.created_at') >= ?")
            params.append(clock.to_text(where.since))
        if where.until is not None:
            clauses.append("json_extract(doc, '$.created_at') < ?")
            params.append(clock.to_text(where.until))
        docs, total = await guard(self._t.page(clauses, params, offset=offset, limit=limit))
        return Page([parse(AuditEntry, d) for d in docs], total)


class SQLiteTenants:
    def __init__(self, table: Table) -> None:
        self._t = table

    async def get(self, tenant_id: str) -> Tenant | None:
        doc = await guard(self._t.get(tenant_id))
        return None if doc is None else parse(Tenant, doc)

    async def insert(self, tenant: Tenant) -> Tenant:
        try:
            await self._t.insert(tenant)
        except sqlite3.IntegrityError as exc:
            raise errors.Conflict(f"tenant {tenant.id} exists") from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return tenant

    async def update_fields(
        self,
        tenant_id: str,
        fields: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        fence: Fence | None = None,
    ) -> Tenant:
        doc = await guard(self._t.update(tenant_id, fields, expected_revision, fence))
        return parse(Tenant, doc)
