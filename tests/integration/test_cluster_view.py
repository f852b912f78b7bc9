"""What a `ClusterView` snapshot holds: compact records read page by page, never the CRs."""

from __future__ import annotations

import gc
import json
import tracemalloc
from typing import Any

from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import data_plane, drift, engines, namespaces, sizes, status_mapping
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import database_cr
from app.services.cluster_view import ClusterView, Listed
from app.services.handlers.desired_spec import desired_for
from simulator.kubedb import engines as kubedb_engines
from simulator.kubedb import plugin as kubedb_plugin
from simulator.kubedb import workloads
from simulator.server import Served, Simulator, run_simulator

TABLE = sizes.default_size_table()
NAMESPACE = namespaces.namespace_for("acme", "shop")
VERSIONS = {"postgres": "16.13", "mysql": "8.4.8", "mongodb": "8.0.17", "redis": "8.2.2"}
READY = {
    "phase": "Ready",
    "observedGeneration": 1,
    "conditions": [{"type": "Ready", "status": "True", "reason": "ReadinessCheckSucceeded"}],
}


def seeded(served: Served, count: int) -> dict[str, tuple[Database, dict[str, Any]]]:
    """`count` databases of four engines, each CR Ready with its AppBinding, by id."""
    simulator = served.simulator
    simulator.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    made = {}
    for i in range(count):
        engine = sorted(VERSIONS)[i % len(VERSIONS)]
        database = Database(
            name=f"db-{i:05d}",
            domain="acme",
            project="shop",
            engine=engine,
            version=VERSIONS[engine],
            storage_gb=10,
            status=DatabaseStatus.RUNNING,
            namespace=NAMESPACE,
            kubedb_resource_name=f"db-{i:05d}",
        )
        manifest = database_cr.database_manifest(desired_for(database, TABLE))
        created = simulator.seed(manifest, status=READY)
        kind = kubedb_engines.BY_KIND[str(created["kind"])]
        simulator.seed(workloads.appbinding(kind, created, None))
        made[database.id] = (database, created)
    return made


def with_bindings() -> Simulator:
    simulator = Simulator()
    simulator.registry.add(kubedb_plugin.APPBINDING)
    return simulator


async def test_a_snapshot_holds_compact_records_that_read_as_the_crs_do() -> None:
    async with run_simulator(simulator=with_bindings()) as served:
        made = seeded(served, 120)
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
        )
        try:
            snapshot = await ClusterView(gateway, chunk=50).snapshot(bindings=True)
            crs = {
                cr["metadata"]["labels"]["dbaas.io/database-id"]: cr
                for engine in engines.Engine
                for cr in await gateway.list(
                    engines.spec(engine).database_resource, all_namespaces=True
                )
            }
            binding_objects = await gateway.list(data_plane.APP_BINDING, all_namespaces=True)
        finally:
            await gateway.close()

    assert set(snapshot.databases) == set(made) == set(crs)
    assert all(type(listed) is Listed for listed in snapshot.databases.values())
    for database_id, listed in snapshot.databases.items():
        database, cr = made[database_id]
        expected = database_cr.database_manifest(desired_for(database, TABLE))
        container = engines.spec(database.engine).container
        assert listed.observed == status_mapping.observe_database(crs[database_id])
        assert drift.find(expected, listed.spec, container=container) == drift.find(
            expected, crs[database_id], container=container
        )
        assert (listed.kind, listed.namespace, listed.name) == (
            cr["kind"],
            NAMESPACE,
            cr["metadata"]["name"],
        )
        assert (listed.domain, listed.project) == ("acme", "shop")
    # Equal facts are held once: one status, one spec part per engine, one binding.
    values = list(snapshot.databases.values())
    assert len({id(listed.observed) for listed in values}) == 1
    assert len({id(listed.spec) for listed in values}) == len(VERSIONS)
    assert {binding: 1 for binding in map(data_plane.parse, binding_objects)}.keys() == {
        *snapshot.bindings.values()
    }
    assert len({id(binding) for binding in snapshot.bindings.values()}) == 1
    assert len(snapshot.bindings) == len(made)


async def test_a_snapshot_keeps_well_under_a_kibibyte_and_no_tracked_object_per_database() -> None:
    count = 1000
    async with run_simulator(simulator=with_bindings()) as served:
        seeded(served, count)
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
        )
        try:
            view = ClusterView(gateway)
            await view.snapshot(bindings=True)  # imports and caches warmed
            gc.collect()
            tracked = len(gc.get_objects())
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                snapshot = await view.snapshot(bindings=True)
                held = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            gc.collect()
            tracked = len(gc.get_objects()) - tracked
        finally:
            await gateway.close()

    assert len(snapshot.databases) == len(snapshot.bindings) == count
    # The CRs as listed are ~2 KiB each as dicts; a Listed, its name and id and its
    # entries in the two maps are a few hundred bytes.
    assert held / count < 1024, f"{held / count:.0f} bytes per database"
    # Rows of strings and ints: nothing per database for the collector to walk.
    assert tracked < count / 5, tracked
