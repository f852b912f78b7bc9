"""The KubeStash model on modelled databases: kinds and webhook rules, storages and their
reasons, a BackupConfiguration's immediate and scheduled backups on the simulator's clock,
retention by count and by period, restores into a database waiting for them, and the fault
knobs. (Real data: test_kubestash_data.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

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
