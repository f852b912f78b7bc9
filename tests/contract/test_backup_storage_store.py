"""The backup storage repository, and the count of databases using a storage, on every store
adapter (the `store` fixture of this folder)."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.backup_storages import BackupStorage, StorageProvider
from app.domain.databases import Database
from app.store import errors
from app.store.protocols import Store


def a_storage(name: str = "archive", **fields: object) -> BackupStorage:
    values: dict[str, object] = {
        "name": name,
        "provider": StorageProvider.S3,
        "bucket": "backups",
        "region": "eu-west-1",
        "credentials_encrypted": "gAAAA-token",
    }
    values.update(fields)
    return BackupStorage.model_validate(values)


async def test_a_storage_is_stored_read_back_by_id_and_name_and_its_name_is_unique(
    store: Store,
) -> None:
    made = await store.backup_storages.insert(a_storage(prefix="team-a"))

    by_id = await store.backup_storages.get(made.id)
    by_name = await store.backup_storages.get_by_name("archive")
    with pytest.raises(errors.NameTaken):
        await store.backup_storages.insert(a_storage())

    assert by_id is not None and by_id.model_dump() == made.model_dump()
    assert by_name is not None and by_name.id == made.id
    assert await store.backup_storages.get("bst-missing") is None
    assert await store.backup_storages.get_by_name("missing") is None
    assert made.id.startswith("bst-")


async def test_a_storage_is_never_inserted_as_the_default(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.backup_storages.insert(a_storage(is_default=True))

    assert (await store.backup_storages.list()).total == 0


async def test_storages_are_listed_newest_first_in_pages(store: Store) -> None:
    first = await store.backup_storages.insert(a_storage("a"))
    await asyncio.sleep(0.002)  # distinct creation timestamps, so that the order is defined
    second = await store.backup_storages.insert(a_storage("b"))

    everything = await store.backup_storages.list()
    one = await store.backup_storages.list(offset=1, limit=1)

    assert [s.id for s in everything.items] == [second.id, first.id]
    assert ([s.id for s in one.items], one.total) == ([first.id], 2)


async def test_making_a_storage_the_default_unsets_the_previous_one(store: Store) -> None:
    a = await store.backup_storages.insert(a_storage("a"))
    b = await store.backup_storages.insert(a_storage("b"))
    assert await store.backup_storages.get_default() is None

    made_a = await store.backup_storages.make_default(a.id)
    again_a = await store.backup_storages.make_default(a.id)
    made_b = await store.backup_storages.make_default(b.id)

    after_a = await store.backup_storages.get(a.id)
    default = await store.backup_storages.get_default()
    assert made_a.is_default and again_a.is_default and made_b.is_default
    assert after_a is not None and not after_a.is_default
    assert after_a.revision > a.revision
    assert default is not None and default.id == b.id
    with pytest.raises(errors.NotFound):
        await store.backup_storages.make_default("bst-missing")
    assert (await store.backup_storages.get_default()) == default


async def test_concurrent_default_changes_leave_exactly_one_default(store: Store) -> None:
    made = [await store.backup_storages.insert(a_storage(f"s{i}")) for i in range(4)]

    await asyncio.gather(*(store.backup_storages.make_default(s.id) for s in made))

    page = await store.backup_storages.list(limit=10)
    assert sum(s.is_default for s in page.items) == 1


async def test_a_storage_update_is_compare_and_set_and_keeps_identity_fields(
    store: Store,
) -> None:
    made = await store.backup_storages.insert(a_storage())

    moved = await store.backup_storages.update_fields(
        made.id, {"bucket": "elsewhere"}, expected_revision=made.revision
    )
    with pytest.raises(errors.RevisionConflict):
        await store.backup_storages.update_fields(
            made.id, {"bucket": "again"}, expected_revision=made.revision
        )
    with pytest.raises(errors.NotFound):
        await store.backup_storages.update_fields("bst-missing", {"bucket": "x"})
    for identity in ({"name": "other"}, {"provider": "gcs"}, {"is_default": True}):
        with pytest.raises(ValueError):
            await store.backup_storages.update_fields(made.id, identity)

    assert (moved.bucket, moved.revision) == ("elsewhere", made.revision + 1)


async def test_a_storage_is_deleted_once_and_only_at_its_revision(store: Store) -> None:
    made = await store.backup_storages.insert(a_storage())

    stale = await store.backup_storages.delete(made.id, expected_revision=made.revision + 1)
    first = await store.backup_storages.delete(made.id, expected_revision=made.revision)
    second = await store.backup_storages.delete(made.id)

    assert (stale, first, second) == (False, True, False)
    assert await store.backup_storages.get(made.id) is None


async def test_live_databases_are_counted_by_the_storage_they_name(store: Store) -> None:
    def database(name: str, storage: str | None) -> Database:
        return Database(
            name=name,
            domain="acme",
            project="shop",
            engine="postgres",
            version="16.4",
            backup_storage=storage,
        )

    await store.databases.insert(database("a", "archive"))
    await store.databases.insert(database("b", "archive"))
    await store.databases.insert(database("c", None))
    await store.databases.insert(database("d", "other"))
    gone = await store.databases.insert(database("e", "archive"))
    await store.databases.update_fields(gone.id, {"status": "deleted"})

    named = await store.databases.count_using_backup_storage("archive", or_unset=False)
    with_unset = await store.databases.count_using_backup_storage("archive", or_unset=True)
    unused = await store.databases.count_using_backup_storage("nowhere", or_unset=False)

    assert (named, with_unset, unused) == (2, 3, 0)
