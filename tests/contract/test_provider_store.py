"""The provider repository, on every store adapter (the `store` fixture of this folder)."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.databases import Database
from app.domain.providers import Provider
from app.store import errors
from app.store.protocols import DatabaseFilter, ProviderFilter, Store


def a_provider(name: str = "eu-1", **fields: object) -> Provider:
    values: dict[str, object] = {
        "name": name,
        "region": "eu-west",
        "availability_zone": "eu-west-1a",
        "cpu_total_cores": 64,
        "memory_total_gb": 256,
        "storage_total_gb": 4096,
    }
    values.update(fields)
    return Provider.model_validate(values)


async def test_a_provider_is_stored_read_back_and_its_name_is_unique(store: Store) -> None:
    made = await store.providers.insert(a_provider(tags=["ssd"], metadata={"owner": "ops"}))

    again = await store.providers.get(made.id)
    with pytest.raises(errors.NameTaken):
        await store.providers.insert(a_provider())

    assert again is not None
    assert again.model_dump() == made.model_dump()
    assert await store.providers.get("prv-missing") is None


async def test_providers_are_listed_newest_first_with_filters(store: Store) -> None:
    first = await store.providers.insert(a_provider("a"))
    await asyncio.sleep(0.002)  # distinct creation timestamps, so that the order is defined
    second = await store.providers.insert(a_provider("b", region="us-east"))
    await asyncio.sleep(0.002)
    third = await store.providers.insert(a_provider("c", is_active=False))

    everything = await store.providers.list(ProviderFilter())
    in_eu = await store.providers.list(ProviderFilter(region="eu-west"))
    active_eu = await store.providers.list(ProviderFilter(region="eu-west", is_active=True))
    zone = await store.providers.list(ProviderFilter(availability_zone="eu-west-1a"), limit=1)

    assert [p.id for p in everything.items] == [third.id, second.id, first.id]
    assert [p.id for p in in_eu.items] == [third.id, first.id]
    assert [p.id for p in active_eu.items] == [first.id]
    assert (zone.total, len(zone.items)) == (3, 1)
    assert {p.id for p in await store.providers.all()} == {first.id, second.id, third.id}


async def test_a_provider_update_is_compare_and_set_and_keeps_names_unique(store: Store) -> None:
    made = await store.providers.insert(a_provider("a"))
    await store.providers.insert(a_provider("b"))

    grown = await store.providers.update_fields(
        made.id, {"cpu_allocated_cores": 4.5}, expected_revision=made.revision
    )
    with pytest.raises(errors.RevisionConflict):
        await store.providers.update_fields(
            made.id, {"cpu_allocated_cores": 9}, expected_revision=made.revision
        )
    with pytest.raises(errors.NameTaken):
        await store.providers.update_fields(made.id, {"name": "b"})
    with pytest.raises(errors.NotFound):
        await store.providers.update_fields("prv-missing", {"priority": 1})

    assert (grown.cpu_allocated_cores, grown.revision) == (4.5, made.revision + 1)


async def test_a_provider_is_deleted_once(store: Store) -> None:
    made = await store.providers.insert(a_provider())

    assert await store.providers.delete(made.id) is True
    assert await store.providers.delete(made.id) is False
    assert await store.providers.get(made.id) is None


async def test_databases_are_listed_by_provider(store: Store) -> None:
    def database(name: str, provider_id: str) -> Database:
        return Database(
            name=name,
            domain="acme",
            project="shop",
            engine="postgres",
            version="16.4",
            provider_id=provider_id,
        )

    await store.databases.insert(database("a", "prv-1"))
    await store.databases.insert(database("b", "prv-2"))
    gone = await store.databases.insert(database("c", "prv-1"))
    await store.databases.update_fields(gone.id, {"status": "deleted"})

    on_first = await store.databases.list(DatabaseFilter(provider_id="prv-1"), limit=0)

    assert on_first.total == 1
