"""Point-in-time recovery in the simulator (issue #16): a database that opts into an
archiver gets its BackupConfiguration, a base backup and continuous WAL archiving of its
real PostgreSQL; a new database created with `spec.init.archiver` recovers to a time in
the window (real WAL replay), or fails naming the window; a modelled engine gets the
objects; turning archiving off stops the sidekick."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.client import Client
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.simulator import kubestash_kit as kit
from tests.simulator.test_dataplane import database, password, query, real_url
from tests.support import eventually

ARCHIVER = "archiver.kubedb.com/v1alpha1"
LABEL = {"dbaas.io/archiver": "local"}
MONGODB = "8.0.17"


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with run_simulator(simulator=Simulator(plugins=[install], seed=5)) as served:
        served.simulator.config.update(
            {"time_scale": 0.01, "provisioning_step_seconds": 1, "real_databases": 3}
        )
        yield served


@pytest.fixture
def client(served: Served) -> Client:
    return served.client()


def archiver(kind: str, engine: str) -> dict[str, Any]:
    """The contract's archiver `S-<engine>` for storage S = local."""
    return {
        "apiVersion": ARCHIVER,
        "kind": kind,
        "metadata": {"name": f"local-{engine}", "namespace": kit.STORAGE_NS},
        "spec": {
            "databases": {"namespaces": {"from": "All"}, "selector": {"matchLabels": LABEL}},
            "retentionPolicy": {"name": "keep-manual", "namespace": kit.STORAGE_NS},
            "fullBackup": {
                "driver": "Restic",
                "scheduler": {
                    "schedule": "0 0 1 1 *",
                    "successfulJobsHistoryLimit": 1,
                    "failedJobsHistoryLimit": 1,
                },
                "sessionHistoryLimit": 2,
            },
            "logBackup": {
                "retentionPeriod": "30d",
                "successfulLogHistoryLimit": 5,
                "failedLogHistoryLimit": 5,
            },
            "manifestBackup": {"scheduler": {"schedule": "0 0 1 1 *"}},
            "backupStorage": {
                "ref": {"name": "local", "namespace": kit.STORAGE_NS},
                "subDir": "pitr",
            },
            "deletionPolicy": "Retain",
            "pause": False,
        },
    }


def db_of(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    db = database("Postgres", name, **spec)
    if kind == "MongoDB":
        db["kind"], db["spec"]["version"] = "MongoDB", MONGODB
    return db


def archived(kind: str, name: str, engine: str) -> dict[str, Any]:
    ref = {"name": f"local-{engine}", "namespace": kit.STORAGE_NS}
    db = db_of(kind, name, archiver={"ref": ref})
    db["metadata"]["labels"] = dict(LABEL)
    return db


def recovered(kind: str, name: str, source: str, at: str) -> dict[str, Any]:
    return db_of(
        kind,
        name,
        init={
            "archiver": {
                "recoveryTimestamp": at,
                "fullDBRepository": {"name": f"{source}-full", "namespace": "default"},
                "manifestRepository": {"name": f"{source}-manifest", "namespace": "default"},
                "replicationStrategy": "none",
            }
        },
    )


def rfc3339(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise(unix: float) -> str:
    """RFC3339 with microseconds: a time between two commits a moment apart."""
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


def sidekicks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if "archiver-sidekick:" in t.get_name()]


def parse(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


async def window(client: Client, db: str, *, after: float = 0.0) -> tuple[float, float]:
    """The incremental Snapshot's window once its end has passed `after`."""

    async def reached() -> tuple[float, float] | None:
        snap = await client.find("snapshots", f"{db}-incremental-snapshot")
        stats = (((snap or {}).get("status") or {}).get("components") or {}).get("wal", {})
        log_stats = stats.get("logStats") or {}
        if "end" not in log_stats or parse(log_stats["end"]) < after:
            return None
        return parse(log_stats["start"]), parse(log_stats["end"])

    return await eventually(reached, timeout=30, message=f"{db}'s window past {after}")


async def full_backups(client: Client, db: str) -> list[dict[str, Any]]:
    """The archiver's succeeded full backup Snapshots of `db`, oldest first."""
    found = []
    for snap in await client.list("snapshots"):
        labels = snap["metadata"].get("labels") or {}
        spec, status = snap.get("spec") or {}, snap.get("status") or {}
        if (
            labels.get("kubestash.com/repo-name") == f"{db}-full"
            and spec.get("session") == "full-backup"
            and spec.get("type") == "FullBackup"
            and status.get("phase") == "Succeeded"
        ):
            found.append(snap)
    return sorted(found, key=lambda snap: str(snap["status"].get("snapshotTime")))


def segments(wal: Path) -> list[str]:
    """The shipped WAL segments' names (no `.gz`), in order."""
    return sorted(p.name.removesuffix(".gz") for p in wal.glob("*.gz"))


def condition(db: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in db["status"]["conditions"] if c["type"] == kind)


async def restore_failed(client: Client, name: str) -> dict[str, Any]:
    async def failed() -> dict[str, Any] | None:
        db = await client.find("postgreses", name)
        conds = {c["type"]: c for c in ((db or {}).get("status") or {}).get("conditions") or ()}
        return db if conds.get("DataRestored", {}).get("status") == "False" else None

    return await eventually(failed, timeout=30, message=f"{name} FailedToRestoreData")


async def test_a_postgres_recovers_to_a_point_in_time_from_its_archived_wal(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(archiver("PostgresArchiver", "postgres"))
    await client.create(archived("Postgres", "db1", "postgres"))
    url = await real_url(client)
    secret = await password(client)
    await eventually(lambda: sidekicks() == ["archiver-sidekick:Postgres/default/db1"], timeout=30)

    async def full_backup() -> dict[str, Any] | None:
        return next(iter(await full_backups(client, "db1")), None)

    full = await eventually(full_backup, timeout=40, message="a full backup Snapshot")
    assert (tmp_path / full["status"]["components"]["dump"]["path"] / "base.tar").exists()
    pg_archiver = await client.get("postgresarchivers", "local-postgres", namespace=kit.STORAGE_NS)
    assert pg_archiver["status"]["databaseRefs"] == [{"name": "db1", "namespace": "default"}]
    bc = await client.get("backupconfigurations", "db1-archiver")
    assert [s["name"] for s in bc["spec"]["sessions"]] == ["full-backup", "manifest-backup"]
    assert await client.find("repositories", "db1-manifest") is not None

    first, _ = await window(client, "db1")
    await eventually(lambda: time.time() > first, message="the window has begun")
    await query(url, secret, "create table notes (n int); insert into notes values (1), (2)")
    target = time.time()
    await query(url, secret, "insert into notes values (3); create table later (n int)")
    await query(url, secret, "drop table notes")
    start, end = await window(client, "db1", after=time.time())
    assert start <= target <= end
    assert list((tmp_path / "pitr" / "default" / "db1" / "wal").glob("*.gz"))

    at = precise(target)
    await client.create(recovered("Postgres", "db2", "db1", at))
    phases: set[str] = set()

    async def is_ready() -> bool:
        db = await client.find("postgreses", "db2")
        phase = ((db or {}).get("status") or {}).get("phase")
        phases.add(str(phase))
        return phase == "Ready"

    await eventually(is_ready, timeout=60, interval=0.1, message="db2 recovered and Ready")
    db2 = await client.get("postgreses", "db2")
    assert condition(db2, "DataRestored")["reason"] == "SuccessfullyDataRestored"
    assert "DataRestoring" in phases
    url2 = await real_url(client, "db2")
    rows = await query(url2, await password(client, "db2"), "select n from notes order by n")
    assert rows == [(1,), (2,)]
    tables = await query(url2, await password(client, "db2"), "select to_regclass('later')")
    assert tables == [(None,)]

    # The window's end, on a database idle since its last commit, is reachable too:
    # recovery stops at the first commit after its target, and the sidekick commits before
    # each switch (without that, "recovery ended before the target was reached").
    _, idle_end = await window(client, "db1", after=time.time())
    await client.create(recovered("Postgres", "db4", "db1", precise(idle_end)))

    async def db4_ready() -> bool:
        db = await client.find("postgreses", "db4")
        return ((db or {}).get("status") or {}).get("phase") == "Ready"

    await eventually(db4_ready, timeout=60, interval=0.1, message="db4 recovered at the end")
    url4 = await real_url(client, "db4")
    rows = await query(url4, await password(client, "db4"), "select to_regclass('notes')")
    assert rows == [(None,)]  # dropped before the end

    await client.create(recovered("Postgres", "db3", "db1", rfc3339(start - 3600)))
    db3 = await restore_failed(client, "db3")
    failed = condition(db3, "DataRestored")
    assert failed["reason"] == "FailedToRestoreData"
    assert rfc3339(start - 3600) in failed["message"] and "window" in failed["message"]
    assert db3["status"]["phase"] != "Ready"

    await client.patch(
        "postgreses",
        "db1",
        {"metadata": {"labels": {"dbaas.io/archiver": None}}, "spec": {"archiver": None}},
    )

    async def off() -> bool:
        refs = await client.get("postgresarchivers", "local-postgres", namespace=kit.STORAGE_NS)
        return await client.find("backupconfigurations", "db1-archiver") is None and not (
            (refs.get("status") or {}).get("databaseRefs")
        )

    await eventually(off, timeout=20, message="archiving off")
    assert sidekicks() == []
    assert list((tmp_path / "pitr" / "default" / "db1" / "wal").glob("*.gz"))  # Retain


async def test_the_wal_no_kept_base_backup_can_use_is_deleted_and_recovery_still_works(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(kit.policy("keep-one", kit.STORAGE_NS, successfulSnapshots={"last": 1}))
    keep_one = archiver("PostgresArchiver", "postgres")
    keep_one["spec"]["retentionPolicy"] = {"name": "keep-one", "namespace": kit.STORAGE_NS}
    await client.create(keep_one)
    await client.create(archived("Postgres", "db1", "postgres"))
    url, secret = await real_url(client), await password(client)
    wal = tmp_path / "pitr" / "default" / "db1" / "wal"
    first_start, _ = await window(client, "db1")
    await query(url, secret, "create table notes (n int); insert into notes values (1)")
    await eventually(lambda: len(segments(wal)) >= 3, timeout=30, message="segments shipped")
    before = segments(wal)

    # A second full backup; the policy keeps one, so the first one (and its WAL) goes.
    await client.create(
        {
            "apiVersion": "core.kubestash.com/v1alpha1",
            "kind": "BackupSession",
            "metadata": {"name": "db1-full-again", "namespace": "default"},
            "spec": {
                "invoker": {
                    "apiGroup": "core.kubestash.com",
                    "kind": "BackupConfiguration",
                    "name": "db1-archiver",
                },
                "session": "full-backup",
            },
        }
    )
    session = await kit.finished(client, "backupsessions", "db1-full-again", timeout=60)
    assert session["status"]["phase"] == "Succeeded"

    async def only_the_second() -> dict[str, Any] | None:
        kept = await full_backups(client, "db1")
        again = len(kept) == 1 and kept[0]["spec"].get("backupSession") == "db1-full-again"
        return kept[0] if again else None

    second = await eventually(only_the_second, timeout=30, message="retention kept one")
    base = tmp_path / second["status"]["components"]["dump"]["path"] / "basebackup.json"
    first_segment = json.loads(base.read_text())["start_segment"]
    assert re.fullmatch(r"[0-9A-F]{24}", first_segment)
    older = [name for name in before if name[8:24] < first_segment[8:]]
    assert older, "the first base backup's WAL was shipped before the second began"

    async def pruned() -> bool:
        start, _ = await window(client, "db1")
        left = segments(wal)
        return start > first_start and all(name[8:24] >= first_segment[8:] for name in left)

    await eventually(pruned, timeout=30, message="the WAL before the kept base backup deleted")
    assert not set(older) & set(segments(wal))

    await query(url, secret, "insert into notes values (2)")
    target = time.time()
    await query(url, secret, "insert into notes values (3)")
    await window(client, "db1", after=time.time())
    await client.create(recovered("Postgres", "db2", "db1", precise(target)))

    async def db2_ready() -> bool:
        db = await client.find("postgreses", "db2")
        return ((db or {}).get("status") or {}).get("phase") == "Ready"

    await eventually(db2_ready, timeout=60, interval=0.1, message="db2 recovered")
    url2 = await real_url(client, "db2")
    rows = await query(url2, await password(client, "db2"), "select n from notes order by n")
    assert rows == [(1,), (2,)]


async def test_a_recovery_after_the_window_or_without_an_archive_fails_naming_why(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(archiver("PostgresArchiver", "postgres"))
    await client.create(archived("Postgres", "db1", "postgres"))
    await real_url(client)
    _, end = await window(client, "db1")
    late = rfc3339(end + 3600)
    await client.create(recovered("Postgres", "db4", "db1", late))
    db4 = await restore_failed(client, "db4")
    message = condition(db4, "DataRestored")["message"]
    assert late in message and rfc3339(end)[:10] in message

    await client.create(recovered("Postgres", "db5", "never-archived", rfc3339(end)))
    db5 = await restore_failed(client, "db5")
    assert "never-archived-full" in condition(db5, "DataRestored")["message"]
    assert db5["status"]["phase"] != "Ready"


async def test_a_modelled_mongodb_gets_the_archiver_objects_and_a_window(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(archiver("MongoDBArchiver", "mongodb"))
    await client.create(archived("MongoDB", "mg1", "mongodb"))
    start, end = await window(client, "mg1")
    assert start <= end
    bc = await client.get("backupconfigurations", "mg1-archiver")
    assert bc["spec"]["sessions"][0]["repositories"][0]["name"] == "mg1-full"
    mg_archiver = await client.get("mongodbarchivers", "local-mongodb", namespace=kit.STORAGE_NS)
    assert mg_archiver["status"]["databaseRefs"] == [{"name": "mg1", "namespace": "default"}]
    await client.create(
        recovered("MongoDB", "mg2", "mg1", rfc3339(start + 1) if end > start + 1 else rfc3339(end))
    )

    async def ready() -> bool:
        db = await client.find("mongodbs", "mg2")
        return ((db or {}).get("status") or {}).get("phase") == "Ready"

    await eventually(ready, timeout=40, message="mg2 recovered (modelled) and Ready")
