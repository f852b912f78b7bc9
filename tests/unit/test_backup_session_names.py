"""BackupSession names: KubeStash's `<configuration>-manual-<unix seconds>` shape, unique per
backup record."""

from __future__ import annotations

from app.domain import ids
from app.domain.manifests import backups as manifests
from app.domain.manifests.names import MAX_NAME_LENGTH


def test_two_backups_asked_for_in_one_second_get_two_sessions() -> None:
    first, second = (ids.new_id(ids.IdPrefix.BACKUP) for _ in range(2))
    names = {
        manifests.backup_session_name("orders", unix_seconds=1_765_000_000, backup_id=backup)
        for backup in (first, second)
    }
    assert len(names) == 2
    assert all(name.startswith("orders-backup-manual-1765000000-") for name in names)


def test_a_session_name_of_a_long_database_name_stays_a_valid_object_name() -> None:
    name = manifests.backup_session_name(
        "d" * 63, unix_seconds=1_765_000_000, backup_id=ids.new_id(ids.IdPrefix.BACKUP)
    )
    assert len(name) <= MAX_NAME_LENGTH and name == name.lower()
