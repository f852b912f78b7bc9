"""The narrow listing (`KubeGateway.list_narrow` with `listed_shapes`) reads what the whole
listing reads: the same snapshot from the same objects, made by the simulator's KubeDB
model for every engine, or seeded as it would never make them (odd and malformed statuses,
orphans, AppBindings of every kind, one that does not fit the narrow shape)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import httpx

from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import data_plane, engines, namespaces, sizes
from app.domain.databases import Database
from app.domain.manifests import database_cr
from app.services.cluster_view import ClusterView, Snapshot
from app.services.handlers.desired_spec import desired_for
from simulator.kubedb import install
from simulator.kubedb import plugin as kubedb_plugin
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

S = TypeVar("S")
T = TypeVar("T")
TABLE = sizes.default_size_table()
NAMESPACE = namespaces.namespace_for("acme", "shop")
VERSIONS = {
    "postgres": "16.13",
    "mysql": "8.4.8",
    "mariadb": "11.8.5",
    "mongodb": "8.0.17",
    "redis": "8.2.2",
}
T0 = "2026-01-01T00:00:00Z"
MANAGED = {"app.kubernetes.io/managed-by": "kubedb-dbaas"}
ODD_STATUSES: list[dict[str, Any]] = [
    {},  # not processed yet
    {  # no phase: derived from the conditions
        "conditions": [{"type": "ProvisioningStarted", "status": "True", "lastTransitionTime": T0}]
    },
    {
        "phase": "Halted",
        "observedGeneration": 1,
        "conditions": [{"type": "Halted", "status": "True", "lastTransitionTime": T0}],
    },
    {"phase": "Critical", "observedGeneration": 2},
    {"phase": "Sideways", "observedGeneration": "1", "conditions": "none"},  # malformed
    {
        "conditions": [
            {"type": "Ready", "status": "False", "message": "down", "lastTransitionTime": T0},
            {"type": "Provisioned", "status": "True", "lastTransitionTime": T0},
        ]
    },
]


class WholeListing:
    """The gateway as the passes read it before: every page decoded whole, reduced as dicts."""

    def __init__(self, gateway: KubeGateway) -> None:
        self._gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    async def list_narrow(
        self,
        resource: engines.Resource,
        shape: type[S],
        reduce: Callable[[S], T],
        whole: Callable[[dict[str, Any]], T],
        **options: Any,
    ) -> list[T]:
        return await self._gateway.list_reduced(resource, whole, **options)


def database(i: int, engine: str) -> Database:
    return Database(
        name=f"db-{i:03d}",
        domain="acme",
        project="shop",
        engine=engine,
        version=VERSIONS[engine],
        storage_gb=10,
        namespace=NAMESPACE,
        kubedb_resource_name=f"db-{i:03d}",
    )


def manifest(made: Database, **metadata: Any) -> dict[str, Any]:
    cr = database_cr.database_manifest(desired_for(made, TABLE))
    cr["metadata"].update(metadata)
    return cr


def binding(name: str, annotations: Mapping[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": data_plane.APP_BINDING.api_version,
        "kind": "AppBinding",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": dict(data_plane.KUBEDB_MANAGED),
            "annotations": dict(annotations),
        },
        "spec": spec,
    }


@contextlib.asynccontextmanager
async def gateway_to(served: Served) -> AsyncIterator[KubeGateway]:
    gateway = KubeGateway.connect(
        ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
    )
    try:
        yield gateway
    finally:
        await gateway.close()


async def snapshots(gateway: KubeGateway, chunk: int) -> tuple[Snapshot, Snapshot, Snapshot]:
    """Narrow, narrow again (its memo warm) and whole."""
    view = ClusterView(gateway, chunk=chunk)
    narrow = await view.snapshot(bindings=True)
    again = await view.snapshot(bindings=True)
    whole = await ClusterView(WholeListing(gateway), chunk=chunk).snapshot(bindings=True)  # type: ignore[arg-type]
    return narrow, again, whole


def contents(snapshot: Snapshot) -> tuple[Any, ...]:
    return (
        {i: (listed, listed.spec) for i, listed in snapshot.databases.items()},
        sorted(snapshot.orphans),
        dict(snapshot.bindings),
        snapshot.calls,
    )


async def test_the_narrow_listing_reads_what_the_whole_one_does_of_every_engine_s_objects() -> None:
    async with (
        run_simulator(simulator=Simulator(plugins=[install])) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as admin,
        gateway_to(served) as gateway,
    ):
        assert (await admin.put("/_sim/config", json={"time_scale": 0.01})).status_code == 200
        served.simulator.seed(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        )
        client = served.client()
        for i, engine in enumerate(sorted(VERSIONS) * 2):
            await client.create(manifest(database(i, engine)))

        async def all_ready() -> bool:
            bindings = await gateway.list(data_plane.APP_BINDING, all_namespaces=True)
            phases = [
                (cr.get("status") or {}).get("phase")
                for engine in engines.Engine
                for cr in await gateway.list(
                    engines.spec(engine).database_resource, all_namespaces=True
                )
            ]
            return len(bindings) == 10 and phases == ["Ready"] * 10

        await eventually(all_ready, timeout=30)
        narrow, again, whole = await snapshots(gateway, chunk=3)

    assert contents(narrow) == contents(whole) == contents(again)
    assert len(narrow.databases) == len(narrow.bindings) == 10
    assert {listed.kind for listed in narrow.databases.values()} == {
        engines.spec(engine).database_resource.kind for engine in engines.Engine
    }


async def test_the_narrow_listing_reads_odd_statuses_orphans_and_bindings_as_the_whole_one() -> (
    None
):
    simulator = Simulator()  # no operator model: the objects stay as seeded
    simulator.registry.add(kubedb_plugin.APPBINDING)
    async with run_simulator(simulator=simulator) as served, gateway_to(served) as gateway:
        sim = served.simulator
        sim.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        for i, status in enumerate(ODD_STATUSES):
            sim.seed(manifest(database(i, sorted(VERSIONS)[i % len(VERSIONS)])), status=status)
        sim.seed(manifest(database(50, "redis")), status={"phase": "Ready"})
        orphan = manifest(database(60, "postgres"))
        del orphan["metadata"]["labels"]["dbaas.io/database-id"]
        sim.seed(orphan)
        sim.seed(manifest(database(61, "mysql"), labels={**MANAGED, "dbaas.io/database-id": ""}))
        for name, annotations, spec in (
            ("db-000", {data_plane.MODE_ANNOTATION: "real"}, {}),
            ("db-001", {data_plane.SERVER_VERSION_ANNOTATION: "16.2"}, {"clientConfig": {}}),
            ("db-002", {data_plane.MODE_ANNOTATION: "odd"}, {"clientConfig": {"url": "x:/"}}),
            ("db-003", {}, {"clientConfig": {"url": "redis://127.0.0.1:6390/0"}}),
            ("db-999", {}, {}),  # no database of that name
        ):
            sim.seed(binding(name, annotations, spec))
        narrow, again, whole = await snapshots(gateway, chunk=2)
        assert contents(narrow) == contents(whole) == contents(again)
        assert len(narrow.databases) == len(ODD_STATUSES) + 1
        assert len(narrow.orphans) == 2
        assert len(narrow.bindings) == 4
        phases = {listed.observed.raw_phase for listed in narrow.databases.values()}
        assert {"Ready", "Halted", "Sideways", ""} <= phases

        # A url that is not a string: the narrow AppBinding says str, so its page (and only
        # its page) is read whole.
        sim.seed(binding("db-004", {}, {"clientConfig": {"url": 5}}))
        narrow, again, whole = await snapshots(gateway, chunk=2)
        assert contents(narrow) == contents(whole) == contents(again)
        assert len(narrow.bindings) == 5
