"""The objects every database of a storage shares (the platform namespace, the storage's
BackupStorage, the manual retention policy) are written to a cluster once per the
gateway's `recent` TTL, not once per database; a changed storage is written at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.cluster.recent_writes import RecentWrites
from app.domain.manifests import backups as manifests
from app.services import backup_cluster
from app.services.backup_cluster import ResolvedStorage
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[Served, KubeGateway, httpx.AsyncClient]]:
    async with (
        run_simulator(simulator=Simulator(plugins=[install])) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as admin,
    ):
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=5
        )
        try:
            yield served, gateway, admin
        finally:
            await gateway.close()


def local(tmp_path: Path, name: str = "local") -> ResolvedStorage:
    target = manifests.StorageTarget(
        name=name, provider="local", path=str(tmp_path / name), default=name == "local"
    )
    return ResolvedStorage(target=target, credentials={})


async def calls(admin: httpx.AsyncClient) -> int:
    return int((await admin.get("/_sim/stats")).json()["total"])


async def test_a_storage_is_written_once_per_ttl_and_again_when_it_changes(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient], tmp_path: Path
) -> None:
    _, gateway, admin = simulated
    now = [1000.0]
    gateway.recent = RecentWrites(60.0, clock=lambda: now[0])
    await admin.post("/_sim/stats/reset")
    await backup_cluster.ensure_storage(gateway, local(tmp_path))
    first = await calls(admin)
    await backup_cluster.ensure_storage(gateway, local(tmp_path))
    second = await calls(admin) - first
    await backup_cluster.ensure_storage(gateway, local(tmp_path, "other"))
    changed = await calls(admin) - first - second
    now[0] += 60.0
    before = await calls(admin)
    await backup_cluster.ensure_storage(gateway, local(tmp_path))
    expired = await calls(admin) - before

    assert first >= 3 and second == 0
    assert changed >= 2 and expired >= 3
    found = await gateway.find(
        backup_cluster.BACKUP_STORAGE, "local", namespace="kubedb-dbaas-backup"
    )
    assert found is not None
