"""The control plane's "on 410, list again" paths, against a simulator that compacts its
history on a schedule as kube-apiserver does (every 300 simulated seconds; here at a small
time scale, so within a second)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import engines
from app.main import WATCH_RETRY
from app.observability.metrics import Metrics
from app.services import listed_shapes
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

PG = engines.spec("postgres")


@pytest.fixture
async def compacting() -> AsyncIterator[tuple[Served, KubeGateway, Metrics]]:
    sim = Simulator(plugins=[install])
    sim.config.update({"time_scale": 0.002})  # compaction every 0.6 s
    metrics = Metrics()
    async with run_simulator(simulator=sim) as served:
        client = served.client(admission=False)
        for i in range(5):
            await client.create(
                {
                    "apiVersion": "kubedb.com/v1",
                    "kind": "Postgres",
                    "metadata": {"name": f"pg-{i}"},
                    "spec": {"version": "16.13"},
                }
            )
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())),
            metrics=metrics,
            watch_retry=WATCH_RETRY,
        )
        try:
            yield served, gateway, metrics
        finally:
            await gateway.close()


def _count(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "dbaas_cluster_calls_total", {"verb": "list", "outcome": outcome}
    )
    return value or 0.0


async def test_a_watch_resumed_after_the_scheduled_compaction_lists_again(
    compacting: tuple[Served, KubeGateway, Metrics],
) -> None:
    served, gateway, _ = compacting
    hub = served.simulator.hub
    early = hub.latest_rv - 3
    await served.client(admission=False).create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tick"}}
    )
    await eventually(lambda: hub.horizon > early, timeout=10, message="a compaction")
    names: set[str] = set()

    async def follow() -> None:
        async for event in gateway.watch(
            PG.database_resource, namespace="default", resource_version=str(early)
        ):
            names.add(event.object["metadata"]["name"])
            if len(names) == 5:
                return

    await asyncio.wait_for(follow(), 20)

    assert names == {f"pg-{i}" for i in range(5)}


@pytest.mark.parametrize("narrow", [False, True], ids=["whole", "narrow"])
async def test_a_paginated_list_compacted_between_pages_lists_again_from_the_start(
    compacting: tuple[Served, KubeGateway, Metrics], narrow: bool
) -> None:
    served, gateway, metrics = compacting
    sim = served.simulator
    sim.config.update({"latency_ms": 150})  # the second page waits while the test compacts
    client = served.client(admission=False)

    async def compact_while_the_second_page_waits() -> None:
        await eventually(lambda: sim.stats.requests["list postgreses"] >= 2, timeout=10)
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        sim.hub.compact(sim.hub.latest_rv)

    compactor = asyncio.get_running_loop().create_task(compact_while_the_second_page_waits())
    if narrow:
        names = await gateway.list_narrow(
            PG.database_resource,
            listed_shapes.DatabaseCR,
            lambda cr: str(cr.metadata and cr.metadata.name),
            lambda obj: str(obj["metadata"]["name"]),
            namespace="default",
            chunk_size=2,
        )
    else:
        items = await gateway.list(PG.database_resource, namespace="default", chunk_size=2)
        names = [i["metadata"]["name"] for i in items]
    await compactor

    assert sorted(names) == [f"pg-{i}" for i in range(5)]
    assert _count(metrics, "expired") == 1 and _count(metrics, "ok") == 1
