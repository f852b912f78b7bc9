"""Fencing epochs (issue 13, item 4): a counter in the store that only grows, and writes
that carry an epoch, refused once a newer one was taken. Run against every adapter."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.domain.operations import Operation
from app.domain.providers import Provider
from app.domain.quotas import Tenant, tenant_id
from app.store import errors
from app.store.protocols import Fence, Store

LEASE = "test:leader:reconciler"


def a_database() -> Database:
    return Database.model_validate(
        {
            "name": "orders",
            "domain": "acme",
            "project": "shop",
            "engine": "postgres",
            "version": "16.4",
        }
    )


def an_event(database_id: str) -> Event:
    return Event(
        database_id=database_id,
        domain="acme",
        project="shop",
        reason="DriftDetected",
        message="m",
        actor="reconciler",
    )


async def test_an_epoch_starts_at_one_and_grows_by_one_with_every_advance(store: Store) -> None:
    assert await store.fences.current(LEASE) == 0

    taken = [await store.fences.advance(LEASE) for _ in range(3)]

    assert taken == [1, 2, 3]
    assert await store.fences.current(LEASE) == 3
    assert await store.fences.current("another:lease") == 0


async def test_concurrent_advances_each_take_a_different_epoch(store: Store) -> None:
    taken = await asyncio.gather(*(store.fences.advance(LEASE) for _ in range(8)))

    assert sorted(taken) == list(range(1, 9))


async def test_a_write_carrying_the_newest_epoch_is_made(store: Store) -> None:
    database = await store.databases.insert(a_database())
    epoch = await store.fences.advance(LEASE)

    updated = await store.databases.update_fields(
        database.id,
        {"message": "adopted"},
        expected_revision=database.revision,
        fence=Fence(LEASE, epoch),
    )
    await store.events.append(an_event(database.id), fence=Fence(LEASE, epoch))

    assert updated.message == "adopted"
    assert (await store.events.list_for_database(database.id)).total == 1


async def test_a_write_carrying_an_older_epoch_is_refused_and_nothing_is_written(
    store: Store,
) -> None:
    database = await store.databases.insert(a_database())
    old = await store.fences.advance(LEASE)
    await store.fences.advance(LEASE)  # a newer leader took the lease

    with pytest.raises(errors.Fenced) as refused:
        await store.databases.update_fields(
            database.id,
            {"status": DatabaseStatus.FAILED},
            expected_revision=database.revision,
            fence=Fence(LEASE, old),
        )
    with pytest.raises(errors.Fenced):
        await store.events.append(an_event(database.id), fence=Fence(LEASE, old))

    assert (refused.value.epoch, refused.value.newest) == (old, old + 1)
    after = await store.databases.get(database.id)
    assert after is not None and after == database
    assert (await store.events.list_for_database(database.id)).total == 0


async def test_a_fenced_write_to_a_missing_record_is_still_not_found(store: Store) -> None:
    epoch = await store.fences.advance(LEASE)

    with pytest.raises(errors.NotFound):
        await store.databases.update_fields(
            "db-missing", {"message": "x"}, fence=Fence(LEASE, epoch)
        )


def an_operation(database_id: str) -> Operation:
    return Operation.model_validate(
        {"database_id": database_id, "domain": "acme", "project": "shop", "type": "resume"}
    )


async def test_an_operation_opened_with_the_newest_epoch_is_created(store: Store) -> None:
    database = await store.databases.insert(a_database())
    epoch = await store.fences.advance(LEASE)

    made = await store.operations.create_active(
        an_operation(database.id), fence=Fence(LEASE, epoch)
    )

    active = await store.operations.get_active(database.id)
    assert active is not None and active.id == made.id


async def test_an_operation_opened_with_an_older_epoch_is_refused_and_not_created(
    store: Store,
) -> None:
    database = await store.databases.insert(a_database())
    old = await store.fences.advance(LEASE)
    await store.fences.advance(LEASE)  # a newer leader took the lease

    with pytest.raises(errors.Fenced):
        await store.operations.create_active(an_operation(database.id), fence=Fence(LEASE, old))

    assert await store.operations.get_active(database.id) is None
    await store.operations.create_active(an_operation(database.id))  # the slot stayed free


async def test_provider_and_tenant_writes_with_an_older_epoch_are_refused_and_change_nothing(
    store: Store,
) -> None:
    provider = await store.providers.insert(
        Provider.model_validate(
            {
                "name": "eu-1",
                "region": "eu-west",
                "availability_zone": "eu-west-1a",
                "cpu_total_cores": 64,
                "memory_total_gb": 256,
                "storage_total_gb": 4096,
            }
        )
    )
    tenant = await store.tenants.insert(
        Tenant(id=tenant_id("acme", "shop"), domain="acme", project="shop")
    )
    old = Fence(LEASE, await store.fences.advance(LEASE))
    current = Fence(LEASE, await store.fences.advance(LEASE))

    with pytest.raises(errors.Fenced):
        await store.providers.update_fields(
            provider.id, {"cpu_allocated_cores": 2}, expected_revision=provider.revision, fence=old
        )
    with pytest.raises(errors.Fenced):
        await store.tenants.update_fields(
            tenant.id, {"databases": 1}, expected_revision=tenant.revision, fence=old
        )
    assert await store.providers.get(provider.id) == provider
    assert await store.tenants.get(tenant.id) == tenant

    moved = await store.providers.update_fields(
        provider.id, {"cpu_allocated_cores": 2}, expected_revision=provider.revision, fence=current
    )
    charged = await store.tenants.update_fields(
        tenant.id, {"databases": 1}, expected_revision=tenant.revision, fence=current
    )
    assert (moved.cpu_allocated_cores, charged.databases) == (2, 1)
