"""The audit repository, on every store adapter: append, then read newest first with
filters."""

from __future__ import annotations

from datetime import timedelta

from app.domain import clock
from app.domain.audit import AuditEntry, AuditScope
from app.store.protocols import AuditFilter, Store


def entry(**fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "action": "POST /api/v1/x",
        "outcome": 202,
        "domain": "acme",
        "project": "shop",
        "actor_key_id": "key-a",
        "actor_role": "owner",
    }
    values.update(fields)
    return AuditEntry.model_validate(values)


async def test_entries_are_read_back_newest_first_with_filters(store: Store) -> None:
    start = clock.utcnow()
    old = await store.audit.append(entry(created_at=start - timedelta(hours=1)))
    mine = await store.audit.append(entry(created_at=start, target="db-1"))
    other = await store.audit.append(
        entry(
            created_at=start + timedelta(seconds=1),
            domain="globex",
            actor_key_id="key-b",
            outcome=403,
        )
    )

    everything = await store.audit.list(AuditFilter())
    acme = await store.audit.list(AuditFilter(domain="acme"))
    refused = await store.audit.list(AuditFilter(outcome=403))
    recent = await store.audit.list(AuditFilter(since=start, until=start + timedelta(seconds=1)))
    by_actor = await store.audit.list(AuditFilter(actor_key_id="key-a", target="db-1"))
    paged = await store.audit.list(AuditFilter(), offset=1, limit=1)

    assert [e.id for e in everything.items] == [other.id, mine.id, old.id]
    assert [e.id for e in acme.items] == [mine.id, old.id]
    assert [e.id for e in refused.items] == [other.id]
    assert [e.id for e in recent.items] == [mine.id]
    assert [e.id for e in by_actor.items] == [mine.id]
    assert (paged.total, [e.id for e in paged.items]) == (3, [mine.id])
    assert everything.items[1].model_dump() == mine.model_dump()


async def test_the_platform_scope_is_read_apart_from_the_tenants_logs(store: Store) -> None:
    tenant = await store.audit.append(entry())
    anonymous = await store.audit.append(
        entry(scope=AuditScope.PLATFORM, actor_key_id=None, actor_role=None, outcome=401)
    )

    acme_log = await store.audit.list(AuditFilter(scope=AuditScope.TENANT, domain="acme"))
    platform = await store.audit.list(AuditFilter(scope=AuditScope.PLATFORM))
    both = await store.audit.list(AuditFilter())

    assert [e.id for e in acme_log.items] == [tenant.id]
    assert [e.id for e in platform.items] == [anonymous.id]
    assert platform.items[0].scope is AuditScope.PLATFORM
    assert {e.id for e in both.items} == {tenant.id, anonymous.id}
