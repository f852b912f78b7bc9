"""Fencing epochs (issue 13, item 4): a counter in the store that only grows, and writes
that carry an epoch, refused once a newer one was taken. Run against every adapter."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
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
