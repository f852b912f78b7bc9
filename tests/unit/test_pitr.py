"""Point-in-time recovery, the pure parts: the archiver and the CR patches as the PITR
contract spells them, the restore window read from an incremental Snapshot, the engine
rule, and create inputs (old and point-in-time) that load and are written back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.domain import engines, errors, pitr, validation
from app.domain import operation_kinds as kinds
from app.domain.engines import Engine
from app.domain.manifests import pitr as manifests

T = datetime(2026, 12, 7, 18, 30, 5, tzinfo=UTC)


def snapshot(**stats: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "orders-incremental-snapshot"},
        "status": {"phase": "Succeeded", "components": {"wal": {"logStats": stats}}},
    }


def test_the_postgres_archiver_of_a_storage_is_the_one_the_contract_spells() -> None:
    made = manifests.archiver("local", Engine.POSTGRES)

    assert (made["apiVersion"], made["kind"]) == (
        "archiver.kubedb.com/v1alpha1",
        "PostgresArchiver",
    )
    assert made["metadata"]["name"] == "local-postgres"
    assert made["metadata"]["namespace"] == "kubedb-dbaas-backup"
    spec = made["spec"]
    assert spec["databases"] == {
        "namespaces": {"from": "All"},
        "selector": {"matchLabels": {"dbaas.io/archiver": "local"}},
    }
    assert spec["retentionPolicy"] == {"name": "keep-manual", "namespace": "kubedb-dbaas-backup"}
    assert spec["fullBackup"] == {
        "driver": "Restic",
        "scheduler": {
            "schedule": "0 0 * * *",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
        },
        "sessionHistoryLimit": 2,
    }
    assert spec["logBackup"] == {
        "retentionPeriod": "30d",
        "successfulLogHistoryLimit": 5,
        "failedLogHistoryLimit": 5,
    }
    assert spec["manifestBackup"] == {"scheduler": {"schedule": "0 0 * * *"}}
    assert spec["backupStorage"] == {
        "ref": {"name": "local", "namespace": "kubedb-dbaas-backup"},
        "subDir": "pitr",
    }
    assert (spec["deletionPolicy"], spec["pause"]) == ("Retain", False)


@pytest.mark.parametrize(
    ("engine", "kind", "name"),
    [
        (Engine.MYSQL, "MySQLArchiver", "s3-main-mysql"),
        (Engine.MARIADB, "MariaDBArchiver", "s3-main-mariadb"),
        (Engine.MONGODB, "MongoDBArchiver", "s3-main-mongodb"),
    ],
)
def test_every_engine_with_an_archiver_gets_its_own_kind_per_storage(
    engine: Engine, kind: str, name: str
) -> None:
    made = manifests.archiver("s3-main", engine)

    assert (made["kind"], made["metadata"]["name"]) == (kind, name)
    resource = engines.ENGINES[engine].archiver_resource
    assert resource is not None and resource.kind == kind
    assert resource.plural == f"{kind.lower()}s"


def test_redis_has_no_archiver_and_pitr_on_it_is_refused_naming_the_engine() -> None:
    assert engines.ENGINES[Engine.REDIS].archiver_resource is None
    with pytest.raises(ValueError, match="redis has no archiver"):
        manifests.archiver("local", Engine.REDIS)
    with pytest.raises(errors.InvalidValue, match="redis has no continuous archiving"):
        validation.check_pitr("redis", True)
    assert validation.check_pitr("redis", False) is False
    assert validation.check_pitr("postgres", True) is True


def test_a_database_opts_in_with_the_label_and_the_archiver_ref_and_out_with_nulls() -> None:
    opt_in = manifests.opt_in_patch("local", Engine.POSTGRES)
    opt_out = manifests.opt_out_patch()

    assert opt_in == {
        "metadata": {"labels": {"dbaas.io/archiver": "local"}},
        "spec": {
            "archiver": {"ref": {"name": "local-postgres", "namespace": "kubedb-dbaas-backup"}}
        },
    }
    assert opt_out == {
        "metadata": {"labels": {"dbaas.io/archiver": None}},
        "spec": {"archiver": None},
    }
    assert manifests.is_opted_in(opt_in)
    assert not manifests.is_opted_in({"metadata": {"labels": {"x": "y"}}, "spec": {}})


def test_a_recovery_names_the_sources_repositories_and_the_time_in_utc() -> None:
    in_paris = T.astimezone(timezone(timedelta(hours=1)))

    init = manifests.recovery_init(
        source_namespace="acme-shop-1",
        full_repo=manifests.full_repository("orders"),
        manifest_repo=manifests.manifest_repository("orders"),
        point_in_time=in_paris,
    )

    assert init == {
        "init": {
            "archiver": {
                "recoveryTimestamp": "2026-12-07T18:30:05Z",
                "fullDBRepository": {"name": "orders-full", "namespace": "acme-shop-1"},
                "manifestRepository": {"name": "orders-manifest", "namespace": "acme-shop-1"},
                "replicationStrategy": "none",
            }
        }
    }
    assert "waitForInitialRestore" not in init["init"]
    assert manifests.rfc3339(T.replace(microsecond=250000)) == "2026-12-07T18:30:05.250000Z"
    assert manifests.incremental_snapshot_name("orders") == "orders-incremental-snapshot"


def test_the_restore_window_is_the_log_stats_start_to_end() -> None:
    window = pitr.window_of(
        snapshot(start="2026-12-07T18:00:00Z", end="2026-12-07T18:31:00Z", lsn="0/3000060")
    )

    assert window == pitr.RestoreWindow(
        earliest=datetime(2026, 12, 7, 18, 0, tzinfo=UTC),
        latest=datetime(2026, 12, 7, 18, 31, tzinfo=UTC),
    )
    assert window.covers(T) and window.covers(T.replace(tzinfo=None))
    assert not window.covers(datetime(2026, 12, 7, 17, 59, tzinfo=UTC))
    assert not window.covers(datetime(2026, 12, 7, 18, 31, 1, tzinfo=UTC))
    assert pitr.describe(window) == "2026-12-07T18:00:00Z..2026-12-07T18:31:00Z"


def test_a_reported_gap_is_outside_the_window() -> None:
    window = pitr.window_of(
        snapshot(
            start="2026-12-07T18:00:00Z",
            end="2026-12-07T19:00:00Z",
            gaps=[{"start": "2026-12-07T18:30:00Z", "end": "2026-12-07T18:31:00Z"}],
        )
    )

    assert window is not None and len(window.gaps) == 1
    assert not window.covers(T)
    assert window.covers(datetime(2026, 12, 7, 18, 45, tzinfo=UTC))


@pytest.mark.parametrize(
    "found",
    [
        None,
        {"metadata": {"name": "x"}},
        {"status": {"components": {"wal": {"phase": "Running"}}}},
        snapshot(start="2026-12-07T18:00:00Z"),
        snapshot(start="not a time", end="2026-12-07T18:00:00Z"),
        snapshot(start="2026-12-07T19:00:00Z", end="2026-12-07T18:00:00Z"),
    ],
)
def test_a_snapshot_without_readable_log_stats_has_no_window(found: dict[str, Any] | None) -> None:
    assert pitr.window_of(found) is None


def test_a_recovery_fails_with_the_data_restored_message_and_not_before() -> None:
    restoring = {
        "status": {
            "phase": "DataRestoring",
            "conditions": [{"type": "DataRestoreStarted", "status": "True"}],
        }
    }
    failed = {
        "status": {
            "conditions": [
                {"type": "DataRestoreStarted", "status": "True"},
                {
                    "type": "DataRestored",
                    "status": "False",
                    "reason": "FailedToRestoreData",
                    "message": "recoveryTimestamp 2026-12-07T20:00:00Z is outside 18:00..18:31",
                },
            ]
        }
    }

    assert pitr.recovery_failure(restoring) is None
    assert pitr.recovery_failure(failed) == (
        "point-in-time restore failed: recoveryTimestamp 2026-12-07T20:00:00Z is outside "
        "18:00..18:31"
    )


def test_a_create_from_a_backup_stored_before_pitr_still_loads_and_is_written_back() -> None:
    stored = {
        "restore": {
            "database_id": "db-1",
            "namespace": "acme-shop-1",
            "repository": "orders-manual-abc123",
            "snapshot": "orders-manual-1",
            "backup_id": "bkp-1",
        }
    }

    loaded = kinds.CREATE.read_input(stored)

    assert loaded.restore is not None and loaded.restore.point_in_time is None
    assert kinds.CREATE.dump_input(loaded) == stored


def test_a_point_in_time_create_round_trips_through_its_document() -> None:
    wanted = kinds.CreateInput(
        restore=kinds.RestoreSource(
            database_id="db-1",
            namespace="acme-shop-1",
            repository="orders-full",
            manifest_repository="orders-manifest",
            snapshot="orders-incremental-snapshot",
            point_in_time=T,
        )
    )

    stored = kinds.CREATE.dump_input(wanted)

    assert stored["restore"]["point_in_time"] == "2026-12-07T18:30:05Z"
    assert kinds.input_of("create", stored) == wanted


def test_pitr_enabled_is_a_setting_an_update_checks_as_a_flag() -> None:
    assert validation.check_settings({"pitr_enabled": True}) == {"pitr_enabled": True}
    with pytest.raises(errors.InvalidValue, match="pitr_enabled must be true or false"):
        validation.check_settings({"pitr_enabled": "yes"})
    assert kinds.UpdateInput(pitr_enabled=False).pitr_enabled is False
