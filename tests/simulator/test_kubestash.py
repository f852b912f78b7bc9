"""The KubeStash model on modelled databases: kinds and webhook rules, storages and their
reasons, a BackupConfiguration's immediate and scheduled backups on the simulator's clock,
retention by count and by period, restores into a database waiting for them, and the fault
knobs. (Real data: test_kubestash_data.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simulator import errors
from simulator.client import Client
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.simulator import kubestash_kit as kit
from tests.support import eventually


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with run_simulator(simulator=Simulator(plugins=[install], seed=7)) as served:
        served.simulator.config.update(
            {"time_scale": 0.01, "provisioning_step_seconds": 1, "backup_seconds": 1}
        )
        yield served


@pytest.fixture
def client(served: Served) -> Client:
    return served.client()


def database(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    version = {"Postgres": "16.13", "Redis": "8.2.2"}[kind]
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "version": version,
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
            **spec,
        },
    }


async def backed_up(client: Client, tmp_path: Path, name: str = "db1", **bc: Any) -> None:
    """A Postgres `name` with the contract's retention, configuration and storage."""
    await kit.setup_storage(client, tmp_path)
    await client.create(database("Postgres", name))
    await client.create(
        kit.policy(f"{name}-retention", maxRetentionPeriod="30d", failedSnapshots={"last": 3})
    )
    await client.create(kit.configuration("Postgres", name, "local", **bc))


async def initial_backup(client: Client) -> dict[str, Any]:
    """The BackupConfiguration's first session, once finished."""
    sessions = await eventually(lambda: kit.sessions_of(client, "db1-backup"), timeout=10)
    return await kit.finished(client, "backupsessions", sessions[0]["metadata"]["name"])


async def test_the_addons_of_the_catalog_are_served_cluster_wide(client: Client) -> None:
    addons = {a["metadata"]["name"]: a for a in await client.list("addons")}
    assert set(addons) == {
        "postgres-addon",
        "mysql-addon",
        "mariadb-addon",
        "mongodb-addon",
        "redis-addon",
    }
    tasks = [t["name"] for t in addons["redis-addon"]["spec"]["backupTasks"]]
    assert tasks == ["logical-backup", "manifest-backup"]
    assert await client.find("functions", "postgres-logical-backup", namespace=None) is not None


async def test_a_configuration_becomes_ready_and_takes_one_backup_at_once(
    client: Client, tmp_path: Path
) -> None:
    await backed_up(client, tmp_path)
    await eventually(lambda: kit.phase_of(client, "backupconfigurations", "db1-backup"), timeout=20)

    async def one_session() -> list[dict[str, Any]]:
        return await kit.sessions_of(client, "db1-backup")

    sessions = await eventually(one_session, timeout=20, message="the initial BackupSession")
    assert len(sessions) == 1 and sessions[0]["spec"]["session"] == "scheduled"
    done = await kit.finished(client, "backupsessions", sessions[0]["metadata"]["name"])
    assert done["status"]["phase"] == "Succeeded", done["status"]
    snap_name = done["status"]["snapshots"][0]["name"]
    unix = sessions[0]["metadata"]["name"].rsplit("-", 1)[1]
    assert snap_name == f"db1-scheduled-db1-backup-scheduled-{unix}"
    snap = await client.get("snapshots", snap_name)
    dump = tmp_path / snap["status"]["components"]["dump"]["path"] / "manifest.json"
    assert snap["status"]["size"] == f"{dump.stat().st_size} B"
    assert snap["metadata"]["labels"]["kubestash.com/app-ref-name"] == "db1"
    repo = await client.get("repositories", "db1-scheduled")
    assert repo["status"]["snapshotCount"] == 1
    bc = await client.get("backupconfigurations", "db1-backup")
    assert bc["status"]["phase"] == "Ready"
    names = [s["metadata"]["name"] for s in await kit.sessions_of(client, "db1-backup")]
    assert names == [sessions[0]["metadata"]["name"]]  # the manual session is suspended


async def invalid(client: Client, obj: dict[str, Any], words: str) -> None:
    with pytest.raises(errors.Invalid, match=words):
        await client.create(obj)


async def test_the_webhooks_refuse_what_kubestash_refuses_naming_the_problem(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await invalid(client, kit.local_storage("other", tmp_path, default=True), "multiple default")
    await invalid(client, kit.local_storage("twin", tmp_path), "same bucket and directory")
    await invalid(client, kit.policy("none"), "maxRetentionPeriod or successfulSnapshots")
    await invalid(client, kit.policy("bad", maxRetentionPeriod="3x"), "invalid retention period")
    both = kit.restore("r", "Postgres", "db1", "db1-manual")
    both["spec"]["dataSource"]["pitr"] = {"targetTime": "2026-01-01T00:00:00Z"}
    await invalid(client, both, "snapshot and pitr cannot be set together")
    bc = kit.configuration("Postgres", "db1", "local")
    bc["spec"]["sessions"][0]["repositories"][0]["backend"] = "nowhere"
    bc["spec"]["sessions"][1]["repositories"][0]["directory"] = "/default/db1/scheduled"
    await invalid(client, bc, "backend 'nowhere' is not defined.*used twice")
    await client.create(database("Postgres", "db1"))
    await client.create(kit.policy("db1-retention", maxRetentionPeriod="30d"))
    await client.create(kit.configuration("Postgres", "db1", "local"))
    await eventually(lambda: client.find("repositories", "db1-scheduled"), timeout=10)
    storage = await client.get("backupstorages", "local", namespace=kit.STORAGE_NS)
    storage["spec"]["storage"]["local"]["hostPath"]["path"] = str(tmp_path / "elsewhere")
    with pytest.raises(errors.Invalid, match="currently in use"):
        await client.update(storage)
    other = kit.configuration("Postgres", "db9", "local")
    other["spec"]["sessions"][0]["repositories"][0]["name"] = "db1-scheduled"
    await invalid(client, other, "'db1-scheduled' is already used for another target")
    session = await client.create(kit.on_demand("db1", 1))
    session["spec"]["session"] = "scheduled"
    with pytest.raises(errors.Invalid, match="immutable"):
        await client.update(session)


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    found = [
        c for c in ((obj or {}).get("status") or {}).get("conditions") or () if c["type"] == kind
    ]
    return found[0] if found else {}


async def test_a_storage_without_its_secret_is_not_ready_and_its_backups_fail_saying_so(
    client: Client,
) -> None:
    await client.create(kit.namespace(kit.STORAGE_NS))
    await client.create(kit.s3_storage("remote"))
    await client.create(kit.policy("keep-manual", kit.STORAGE_NS, maxRetentionPeriod="100y"))
    await client.create(kit.policy("db1-retention", maxRetentionPeriod="30d"))
    await client.create(database("Postgres", "db1"))
    await client.create(kit.configuration("Postgres", "db1", "remote"))

    async def secret_missing() -> bool:
        storage = await client.find("backupstorages", "remote", namespace=kit.STORAGE_NS)
        cond = condition(storage, "BackendSecretFound")
        phase = ((storage or {}).get("status") or {}).get("phase")
        return phase == "NotReady" and cond.get("reason") == "BackendSecretNotAvailable"

    await eventually(secret_missing, timeout=10, message="BackendSecretNotAvailable")

    async def bc_not_ready() -> dict[str, Any] | None:
        bc = await client.find("backupconfigurations", "db1-backup")
        status = (bc or {}).get("status") or {}
        return bc if status.get("phase") == "NotReady" and status.get("backends") else None

    bc = await eventually(bc_not_ready, timeout=10, message="the configuration NotReady")
    backend = bc["status"]["backends"][0]
    assert backend["storage"] == {
        "ref": {"name": "remote", "namespace": kit.STORAGE_NS},
        "phase": "NotReady",
        "reason": "BackendSecretNotAvailable",
    }
    assert await kit.sessions_of(client, "db1-backup") == []  # nothing triggered while NotReady
    await client.create(kit.on_demand("db1", 100))
    done = await kit.finished(client, "backupsessions", "db1-backup-manual-100", timeout=15)
    assert done["status"]["phase"] == "Failed"
    assert "BackendSecretNotAvailable" in done["status"]["error"]

    await client.create(kit.s3_secret("remote", "a", "b"))

    async def endpoint_down() -> bool:
        storage = await client.find("backupstorages", "remote", namespace=kit.STORAGE_NS)
        found, init = (
            condition(storage, "BackendSecretFound"),
            condition(storage, "BackendInitialized"),
        )
        return (
            found.get("status") == "True"
            and init.get("reason") == "BackendInitializationFailed"
            and "http://127.0.0.1:9 not reachable" in str(init.get("message"))
        )

    # The secret found, the s3 backend initialised for real: nothing listens on port 9.
    await eventually(endpoint_down, timeout=10, message="the secret found, the endpoint down")


async def test_the_schedule_fires_on_the_simulator_clock_and_retention_keeps_the_last_two(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(database("Postgres", "db1"))
    await client.create(kit.policy("db1-retention", successfulSnapshots={"last": 2}))
    await client.create(kit.configuration("Postgres", "db1", "local", schedule="* * * * *"))

    async def four_done() -> bool:  # a simulated minute is 0.6 s at time scale 0.01
        sessions = await kit.sessions_of(client, "db1-backup")
        return sum(s.get("status", {}).get("phase") == "Succeeded" for s in sessions) >= 4

    await eventually(four_done, timeout=20, message="four scheduled backups")
    sessions = await kit.sessions_of(client, "db1-backup")
    assert all(s["spec"]["session"] == "scheduled" for s in sessions)
    snapshots = await client.list(
        "snapshots", label_selector="kubestash.com/repo-name=db1-scheduled"
    )

    async def two_kept() -> bool:
        found = await client.list(
            "snapshots", label_selector="kubestash.com/repo-name=db1-scheduled"
        )
        folders = {p.name for p in (tmp_path / "default/db1/scheduled").iterdir()}
        return len(found) <= 2 and {s["metadata"]["name"] for s in found} == folders

    await eventually(two_kept, timeout=10, message="two snapshots and their folders kept")
    assert snapshots  # the newest ones stay
    repo = await client.get("repositories", "db1-scheduled")
    assert repo["status"]["snapshotCount"] <= 2


async def test_retention_by_period_removes_snapshots_older_than_it(
    client: Client, tmp_path: Path
) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(database("Postgres", "db1"))
    await client.create(kit.policy("db1-retention", maxRetentionPeriod="2m"))
    await client.create(kit.configuration("Postgres", "db1", "local", schedule="* * * * *"))

    async def an_old_one_removed() -> bool:
        sessions = await kit.sessions_of(client, "db1-backup")
        done = [s for s in sessions if s.get("status", {}).get("phase") == "Succeeded"]
        found = await client.list(
            "snapshots", label_selector="kubestash.com/repo-name=db1-scheduled"
        )
        return len(done) >= 5 and len(found) < len(done)

    await eventually(an_old_one_removed, timeout=20, message="snapshots past 2m removed")
    found = await client.list("snapshots", label_selector="kubestash.com/repo-name=db1-scheduled")
    assert 1 <= len(found) <= 4  # about 2 simulated minutes of minutely backups
    folders = {p.name for p in (tmp_path / "default/db1/scheduled").iterdir()}
    assert {s["metadata"]["name"] for s in found} <= folders
    assert len(folders) < 5  # the removed ones' files went with them


async def test_each_fault_knob_ends_its_session_in_the_documented_state(
    served: Served, client: Client, tmp_path: Path
) -> None:
    await backed_up(client, tmp_path)
    served.simulator.config.update(
        {
            "backup_session_fail": ["default/*-manual-1"],
            "repository_locked": ["default/db1-manual"],
            "retention_fail": ["default/db1-scheduled"],
            "backup_session_stuck": ["default/*-manual-4"],
        }
    )
    await client.create(kit.on_demand("db1", 1))
    failed = await kit.finished(client, "backupsessions", "db1-backup-manual-1")
    assert failed["status"]["phase"] == "Failed"
    assert "backup_session_fail" in failed["status"]["error"]
    await client.create(kit.on_demand("db1", 2))
    locked = await kit.finished(client, "backupsessions", "db1-backup-manual-2")
    assert "repository is already locked" in locked["status"]["error"]
    snapshot = await client.get("snapshots", locked["status"]["snapshots"][0]["name"])
    assert snapshot["status"]["phase"] == "Failed"
    assert "already locked" in snapshot["status"]["components"]["dump"]["error"]
    await client.create(kit.on_demand("db1", 3, session="scheduled"))
    retention = await kit.finished(client, "backupsessions", "db1-backup-scheduled-3")
    assert retention["status"]["phase"] == "Failed"
    assert retention["status"]["retentionPolicy"][0]["phase"] == "FailedToApply"
    await client.create(kit.on_demand("db1", 4))
    await client.create(kit.on_demand("db1", 5, session="scheduled"))
    served.simulator.config.update({"retention_fail": []})
    await kit.finished(client, "backupsessions", "db1-backup-scheduled-5")
    assert await kit.phase_of(client, "backupsessions", "db1-backup-manual-4") == "Running"
    served.simulator.config.update({"backup_session_stuck": [], "repository_locked": []})
    unstuck = await kit.finished(client, "backupsessions", "db1-backup-manual-4")
    assert unstuck["status"]["phase"] == "Succeeded"


async def test_a_failed_restore_leaves_the_waiting_database_not_ready_with_the_reason(
    served: Served, client: Client, tmp_path: Path
) -> None:
    await backed_up(client, tmp_path)
    await initial_backup(client)
    await client.create(database("Postgres", "db2", init={"waitForInitialRestore": True}))
    served.simulator.config.update({"restore_fail": ["default/db2-restore"]})
    await client.create(kit.restore("db2-restore", "Postgres", "db2", "db1-scheduled"))
    done = await kit.finished(client, "restoresessions", "db2-restore")
    assert done["status"]["phase"] == "Failed"
    assert "restore_fail" in done["status"]["error"]

    async def not_ready() -> dict[str, Any] | None:
        db = await client.find("postgreses", "db2")
        return db if (db or {}).get("status", {}).get("phase") == "NotReady" else None

    db2 = await eventually(not_ready, timeout=20, message="db2 NotReady")
    restored = condition(db2, "DataRestored")
    assert (restored["status"], restored["reason"]) == ("False", "FailedToRestoreData")
    assert condition(db2, "DataRestoreStarted")["status"] == "True"
    assert "restore_fail" in restored["message"]


async def test_a_restore_of_the_latest_snapshot_from_another_namespace_readies_the_database(
    client: Client, tmp_path: Path
) -> None:
    await backed_up(client, tmp_path)
    await initial_backup(client)
    await client.create(kit.namespace("other"))
    clone = database("Postgres", "db2", init={"waitForInitialRestore": True})
    clone["metadata"]["namespace"] = "other"
    await client.create(clone)
    session = kit.restore("db2-restore", "Postgres", "db2", "db1-scheduled")
    session["metadata"]["namespace"] = session["spec"]["target"]["namespace"] = "other"
    await client.create(session)

    async def restored() -> dict[str, Any] | None:
        found = await client.find("restoresessions", "db2-restore", namespace="other")
        phase = ((found or {}).get("status") or {}).get("phase")
        return found if phase in ("Succeeded", "Failed") else None

    done = await eventually(restored, timeout=20, message="the restore finished")
    assert done["status"]["phase"] == "Succeeded", done["status"]

    async def db2_ready() -> bool:
        return await kit.phase_of(client, "postgreses", "db2", "other") == "Ready"

    await eventually(db2_ready, timeout=20, message="db2 Ready")
    db2 = await client.get("postgreses", "db2", namespace="other")
    assert condition(db2, "DataRestored")["reason"] == "SuccessfullyDataRestored"


async def test_a_paused_configuration_triggers_nothing_and_pitr_fails_as_not_emulated(
    client: Client, tmp_path: Path
) -> None:
    await backed_up(client, tmp_path, paused=True)

    async def ready_with_sessions() -> dict[str, Any] | None:
        bc = await client.find("backupconfigurations", "db1-backup")
        status = (bc or {}).get("status") or {}
        return bc if status.get("phase") == "Ready" and status.get("sessions") else None

    bc = await eventually(ready_with_sessions, timeout=10, message="the paused BC Ready")
    assert all("nextSchedule" not in s for s in bc["status"]["sessions"])
    assert await kit.sessions_of(client, "db1-backup") == []
    pitr = kit.restore("db1-pitr", "Postgres", "db1", "db1-scheduled")
    pitr["spec"]["dataSource"] = {
        "repository": "db1-scheduled",
        "pitr": {"targetTime": "2026-01-01T00:00:00Z"},
    }
    await client.create(pitr)
    done = await kit.finished(client, "restoresessions", "db1-pitr")
    assert done["status"]["phase"] == "Failed"
    assert "spec.init.archiver" in done["status"]["error"]


async def test_deleting_a_snapshot_wipes_its_files_only_with_the_wipeout_policy(
    client: Client, tmp_path: Path
) -> None:
    await backed_up(client, tmp_path)
    await client.create(kit.on_demand("db1", 1))
    await client.create(kit.on_demand("db1", 2))
    folders = []
    for unix in (1, 2):
        done = await kit.finished(client, "backupsessions", f"db1-backup-manual-{unix}")
        assert done["status"]["phase"] == "Succeeded", done["status"]
        snap = await client.get("snapshots", done["status"]["snapshots"][0]["name"])
        folders.append(tmp_path / snap["status"]["components"]["dump"]["path"])
    kept, wiped = (f.parent.name for f in folders)
    assert all(f.exists() for f in folders)
    await client.patch("snapshots", wiped, {"spec": {"deletionPolicy": "WipeOut"}})
    await client.delete("snapshots", wiped)
    await client.delete("snapshots", kept)

    async def both_gone() -> bool:
        return not await client.list(
            "snapshots", label_selector="kubestash.com/repo-name=db1-manual"
        )

    await eventually(both_gone, timeout=10, message="the snapshots deleted")
    assert folders[0].exists() and not folders[1].parent.exists()


async def test_a_session_left_running_by_a_stopped_simulator_finishes_after_its_restart(
    tmp_path: Path,
) -> None:
    for first in (True, False):
        sim = Simulator(plugins=[install], seed=7, state=tmp_path / "state.db")
        async with run_simulator(simulator=sim) as served:
            sim.config.update({"time_scale": 0.01, "provisioning_step_seconds": 1})
            client = served.client()
            if first:  # knobs are not kept: the restarted one has no stuck session
                sim.config.update({"backup_session_stuck": ["default/*-manual-1"]})
                await backed_up(client, tmp_path / "backups")
                await initial_backup(client)
                await client.create(kit.on_demand("db1", 1))

                async def running(client: Client = client) -> bool:
                    phase = await kit.phase_of(client, "backupsessions", "db1-backup-manual-1")
                    return phase == "Running"

                await eventually(running, timeout=10, message="the stuck session Running")
            else:
                done = await kit.finished(client, "backupsessions", "db1-backup-manual-1")
                assert done["status"]["phase"] == "Succeeded", done["status"]
