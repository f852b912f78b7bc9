"""The backup repository, on every store adapter (the `store` fixture of this folder)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain import clock
from app.domain.backups import Backup, BackupStatus, BackupType
from app.store import errors
from app.store.protocols import BackupFilter, Store


def a_backup(
    snapshot: str | None = "db1-scheduled-db1-backup-scheduled-1", **fields: object
) -> Backup:
    values: dict[str, object] = {
        "database_id": "db-1",
        "database_name": "db1",
        "domain": "acme",
        "project": "web",
        "engine": "postgres",
        "provider_id": "prv-1",
        "namespace": "acme-web-123456",
        "type": BackupType.SCHEDULED,
        "storage": "local",
        "repository": "db1-scheduled",
        "snapshot_name": snapshot,
    }
    values.update(fields)
    return Backup.model_validate(values)


async def test_a_backup_is_stored_found_by_its_snapshot_and_recorded_once(store: Store) -> None:
    made = await store.backups.insert(a_backup(size_bytes=2048))

    again = await store.backups.get(made.id)
    found = await store.backups.find_snapshot("prv-1", "acme-web-123456", made.snapshot_name or "")
    with pytest.raises(errors.Conflict):
        await store.backups.insert(a_backup())

    assert again is not None and again.model_dump() == made.model_dump()
    assert found is not None and found.id == made.id
    assert await store.backups.find_snapshot("prv-2", "acme-web-123456", "x") is None
    assert await store.backups.get("bkp-missing") is None


async def test_backups_without_a_snapshot_yet_do_not_collide(store: Store) -> None:
    first = await store.backups.insert(a_backup(None, type=BackupType.MANUAL))
    second = await store.backups.insert(a_backup(None, type=BackupType.MANUAL))

    assert first.id != second.id


async def test_backups_are_listed_newest_first_by_database_and_removed_ones_left_out(
    store: Store,
) -> None:
    now = clock.utcnow()
    old = await store.backups.insert(a_backup("s-1", created_at=now - timedelta(hours=2)))
    new = await store.backups.insert(a_backup("s-2", created_at=now - timedelta(hours=1)))
    other = await store.backups.insert(a_backup("s-3", database_id="db-2", created_at=now))
    await store.backups.update_fields(old.id, {"removed_at": now})

    of_db1 = await store.backups.list(BackupFilter(database_id="db-1"))
    with_removed = await store.backups.list(BackupFilter(database_id="db-1", include_removed=True))
    of_tenant = await store.backups.list(BackupFilter(domain="acme", project="web"))

    assert [b.id for b in of_db1.items] == [new.id]
    assert [b.id for b in with_removed.items] == [new.id, old.id]
    assert [b.id for b in of_tenant.items] == [other.id, new.id]


async def test_an_update_is_compare_and_set_on_the_revision(store: Store) -> None:
    made = await store.backups.insert(a_backup())

    running = await store.backups.update_fields(
        made.id, {"status": BackupStatus.RUNNING}, expected_revision=made.revision
    )
    with pytest.raises(errors.RevisionConflict):
        await store.backups.update_fields(
            made.id, {"status": BackupStatus.FAILED}, expected_revision=made.revision
        )
    with pytest.raises(errors.NotFound):
        await store.backups.update_fields("bkp-missing", {"status": BackupStatus.FAILED})

    assert running.status is BackupStatus.RUNNING and running.revision == made.revision + 1


async def test_live_walks_one_providers_unremoved_backups_in_id_order(store: Store) -> None:
    made = [await store.backups.insert(a_backup(f"s-{i}")) for i in range(5)]
    await store.backups.insert(a_backup("elsewhere", provider_id="prv-2"))
    await store.backups.update_fields(made[2].id, {"removed_at": clock.utcnow()})

    first = await store.backups.live("prv-1", limit=2)
    rest = await store.backups.live("prv-1", after=first[-1].id, limit=10)

    expected = sorted(b.id for i, b in enumerate(made) if i != 2)
    assert [b.id for b in [*first, *rest]] == expected


async def test_a_snapshot_named_later_is_unique_too(store: Store) -> None:
    await store.backups.insert(a_backup("s-1"))
    pending = await store.backups.insert(a_backup(None, type=BackupType.MANUAL))

    named = await store.backups.update_fields(pending.id, {"snapshot_name": "s-2"})
    with pytest.raises(errors.Conflict):
        await store.backups.update_fields(pending.id, {"snapshot_name": "s-1"})

    assert named.snapshot_name == "s-2"
    assert (await store.backups.find_snapshot("prv-1", "acme-web-123456", "s-2")) is not None


async def test_totals_count_and_sum_the_backups_not_removed_by_storage_type_and_status(
    store: Store,
) -> None:
    await store.backups.insert(a_backup("s-1", size_bytes=100, status=BackupStatus.SUCCEEDED))
    await store.backups.insert(a_backup("s-2", size_bytes=50, status=BackupStatus.SUCCEEDED))
    await store.backups.insert(a_backup("s-3", status=BackupStatus.FAILED))
    gone = await store.backups.insert(a_backup("s-4", size_bytes=7, type=BackupType.MANUAL))
    await store.backups.update_fields(gone.id, {"removed_at": clock.utcnow()})

    totals = await store.backups.totals()

    assert totals == {
        ("local", "scheduled", "succeeded"): (2, 150),
        ("local", "scheduled", "failed"): (1, 0),
    }
