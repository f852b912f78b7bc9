"""The cluster gateway (lightkube) against the simulator on a real loopback socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cluster import errors
from app.cluster.config import ClusterConnection
from app.cluster.gateway import Credentials, KubeGateway
from app.domain import engines, sizes
from app.domain.manifests import database_cr, desired, ops_requests
from app.main import WATCH_RETRY
from app.observability.metrics import Metrics
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

PG = engines.spec("postgres")


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[Served, KubeGateway, httpx.AsyncClient]]:
    async with (
        run_simulator(simulator=Simulator(plugins=[install])) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as admin,
    ):
        await admin.put("/_sim/config", json={"time_scale": 0.01})
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())),
            timeout=2,
            watch_retry=WATCH_RETRY,
        )
        try:
            yield served, gateway, admin
        finally:
            await gateway.close()


def wanted(
    name: str = "orders", engine: str = "postgres", **changes: Any
) -> desired.DesiredDatabase:
    values: dict[str, Any] = dict(
        database_id=f"db-{name}",
        domain="acme",
        project="shop",
        engine=engine,
        name=name,
        namespace="default",
        version={
            "postgres": "16.13",
            "mysql": "8.4.8",
            "mariadb": "11.8.5",
            "mongodb": "8.0.17",
            "redis": "8.2.2",
        }[engine],
        size=sizes.default_size_table().get("db.t3.micro"),
        storage_gb=10,
    )
    values.update(changes)
    return desired.DesiredDatabase(**values)


async def test_a_database_is_created_read_listed_patched_and_deleted(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    manifest = database_cr.database_manifest(wanted(), monitoring=database_cr.DEFAULT_MONITORING)

    created = await gateway.create(PG.database_resource, manifest)
    read = await gateway.get(PG.database_resource, "orders", namespace="default")
    listed = await gateway.list(PG.database_resource, labels={"dbaas.io/domain": "acme"})
    patched = await gateway.merge_patch(
        PG.database_resource,
        "orders",
        {"metadata": {"labels": {"team": "red"}}},
        namespace="default",
    )
    await gateway.delete(PG.database_resource, "orders", namespace="default")

    assert created["metadata"]["finalizers"] == ["kubedb.com"]  # the webhook ran
    assert read["spec"]["version"] == "16.13"
    assert [o["metadata"]["name"] for o in listed] == ["orders"]
    assert patched["metadata"]["labels"]["team"] == "red"

    async def gone() -> bool:
        return await gateway.find(PG.database_resource, "orders", namespace="default") is None

    await eventually(gone, timeout=10)


async def test_creating_twice_is_already_exists_and_a_missing_object_is_not_found(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    manifest = database_cr.database_manifest(wanted(), monitoring=database_cr.DEFAULT_MONITORING)
    await gateway.create(PG.database_resource, manifest)

    with pytest.raises(errors.AlreadyExists):
        await gateway.create(PG.database_resource, manifest)
    with pytest.raises(errors.NotFound):
        await gateway.get(PG.database_resource, "nope", namespace="default")
    with pytest.raises(errors.NotFound):
        await gateway.merge_patch(PG.database_resource, "nope", {"spec": {}}, namespace="default")


async def test_a_stale_resource_version_in_a_patch_is_a_conflict(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    await gateway.create(
        PG.database_resource,
        database_cr.database_manifest(wanted(), monitoring=database_cr.DEFAULT_MONITORING),
    )

    with pytest.raises(errors.Conflict) as caught:
        await gateway.merge_patch(
            PG.database_resource,
            "orders",
            {"metadata": {"resourceVersion": "1", "labels": {"a": "b"}}},
            namespace="default",
        )

    assert caught.value.code == 409
    assert isinstance(caught.value, errors.TEMPORARY)


async def test_a_webhook_denial_is_forbidden_with_the_clusters_message(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    manifest = database_cr.database_manifest(
        wanted(version="9.9"), monitoring=database_cr.DEFAULT_MONITORING
    )

    with pytest.raises(errors.Forbidden) as caught:
        await gateway.create(PG.database_resource, manifest)

    assert 'postgresversions.catalog.kubedb.com "9.9" not found' in caught.value.message
    assert not isinstance(caught.value, errors.TEMPORARY)


async def test_an_invalid_opsrequest_carries_the_clusters_causes(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    db = wanted()
    await gateway.create(
        PG.database_resource,
        database_cr.database_manifest(db, monitoring=database_cr.DEFAULT_MONITORING),
    )
    request = ops_requests.update_version(
        db, operation_id="op-0123456789abcdef", target_version="13.22"
    )

    with pytest.raises(errors.Invalid) as caught:
        await gateway.create(PG.ops_resource, request)

    assert "upgrade from version 16.13 to 13.22 is not supported" in caught.value.message
    assert caught.value.causes[0]["field"] == "spec.updateVersion.targetVersion"


@pytest.mark.parametrize(
    ("knobs", "retry_after"),
    [({"error_rate": 1.0}, None), ({"throttle_rate": 1.0, "throttle_retry_after_seconds": 3}, 3.0)],
)
async def test_server_errors_and_throttling_are_unavailable(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
    knobs: dict[str, Any],
    retry_after: float | None,
) -> None:
    _, gateway, admin = simulated
    await admin.put("/_sim/config", json=knobs)

    with pytest.raises(errors.Unavailable) as caught:
        await gateway.list(PG.database_resource)

    assert caught.value.retry_after == retry_after


async def test_a_request_never_answered_times_out_as_unavailable(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, admin = simulated
    await admin.put("/_sim/config", json={"hang_rate": 1.0})

    with pytest.raises(errors.Unavailable, match="did not answer in time"):
        await gateway.get(PG.database_resource, "orders", namespace="default")


async def test_an_unreachable_cluster_is_unavailable() -> None:
    gateway = KubeGateway.connect(ClusterConnection.url("http://127.0.0.1:9"), timeout=1)
    try:
        with pytest.raises(errors.Unavailable, match="cannot reach the cluster"):
            await gateway.ping()
    finally:
        await gateway.close()


async def test_a_long_list_is_fetched_in_pages(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    served, gateway, admin = simulated
    client = served.client(admission=False)
    for i in range(250):
        await client.create(
            {
                "apiVersion": "kubedb.com/v1",
                "kind": "Postgres",
                "metadata": {"name": f"pg-{i:03}", "labels": {"batch": "x"}},
                "spec": {"version": "16.13"},
            }
        )
    await admin.post("/_sim/stats/reset")

    listed = await gateway.list(PG.database_resource, labels={"batch": "x"}, chunk_size=100)
    stats = (await admin.get("/_sim/stats")).json()

    assert len(listed) == 250 and len({o["metadata"]["name"] for o in listed}) == 250
    assert stats["requests"]["list postgreses"] == 3


async def test_a_watch_resumes_after_dropped_streams_and_misses_nothing(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    served, gateway, admin = simulated
    client = served.client(admission=False)
    await admin.put("/_sim/config", json={"watch_drop_after_events": 2})
    seen: list[str] = []

    async def follow() -> None:
        async for event in gateway.watch(PG.database_resource, namespace="default"):
            seen.append(event.object["metadata"]["name"])
            if len(set(seen)) == 7:
                return

    watcher = asyncio.create_task(follow())
    for i in range(7):
        await client.create(
            {
                "apiVersion": "kubedb.com/v1",
                "kind": "Postgres",
                "metadata": {"name": f"pg-{i}"},
                "spec": {"version": "16.13"},
            }
        )
    await asyncio.wait_for(watcher, 20)
    stats = (await admin.get("/_sim/stats")).json()

    assert set(seen) == {f"pg-{i}" for i in range(7)}
    assert stats["requests"]["watch postgreses"] >= 3  # it had to come back


async def test_credentials_services_and_the_catalog_are_read(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    await gateway.create(
        PG.database_resource,
        database_cr.database_manifest(wanted(), monitoring=database_cr.DEFAULT_MONITORING),
    )

    async def secret_made() -> Credentials | None:
        try:
            return await gateway.read_credentials("default", "orders-auth")
        except errors.NotFound:
            return None

    credentials = await eventually(secret_made, timeout=10)
    service = await gateway.read_service("default", "orders")
    versions = await gateway.list(PG.catalog_resource)

    assert credentials.username == "postgres" and len(credentials.password) == 16
    assert credentials.password not in repr(credentials)
    assert service["spec"]["ports"][0]["port"] == 5432
    assert "16.13" in {v["metadata"]["name"] for v in versions}


async def test_an_auth_secret_is_written_overwritten_and_deleted_only_when_it_is_ours(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    _, gateway, _ = simulated
    ours = {"dbaas.io/database-id": "db-new"}
    await gateway.write_auth_secret(
        "default",
        "ledger-auth",
        Credentials("postgres", "first-password-1"),
        labels={"dbaas.io/database-id": "db-old"},
    )
    await gateway.write_auth_secret(
        "default",
        "ledger-auth",
        Credentials("postgres", "second-password-2"),
        labels=ours,
    )

    read = await gateway.read_credentials("default", "ledger-auth")
    not_ours = await gateway.delete_secret(
        "default", "ledger-auth", labelled={"dbaas.io/database-id": "db-old"}
    )
    still_there = await gateway.read_credentials("default", "ledger-auth")
    deleted = await gateway.delete_secret("default", "ledger-auth", labelled=ours)
    again = await gateway.delete_secret("default", "ledger-auth", labelled=ours)

    assert (read.username, read.password) == ("postgres", "second-password-2")
    assert (not_ours, still_there.password, deleted, again) == (
        False,
        "second-password-2",
        True,
        False,
    )
    with pytest.raises(errors.NotFound):
        await gateway.read_credentials("default", "ledger-auth")


@pytest.mark.parametrize("form", ["path", "content"])
async def test_a_kubeconfig_path_or_content_reaches_the_cluster(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient], form: str, tmp_path: Path
) -> None:
    served, _, _ = simulated
    content = json.dumps(served.kubeconfig())
    if form == "path":
        (tmp_path / "kubeconfig").write_text(content)
        connection = ClusterConnection.kubeconfig_path(tmp_path / "kubeconfig")
    else:
        connection = ClusterConnection.kubeconfig(content)
    gateway = KubeGateway.connect(connection)
    try:
        await gateway.ping()
        versions = await gateway.list(PG.catalog_resource)
    finally:
        await gateway.close()

    assert versions
    assert "secret-token" not in repr(ClusterConnection.kubeconfig("secret-token: abc"))


async def test_a_watch_from_a_forgotten_version_starts_over_from_the_current_state() -> None:
    async with run_simulator(simulator=Simulator(plugins=[install], watch_history=2)) as served:
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
            timeout=2,
            watch_retry=WATCH_RETRY,
        )
        names: set[str] = set()

        async def follow() -> None:
            # "1" is long gone from a two-event history: the server answers 410 Expired.
            async for event in gateway.watch(
                PG.database_resource, namespace="default", resource_version="1"
            ):
                names.add(event.object["metadata"]["name"])
                if len(names) == 5:
                    return

        try:
            await asyncio.wait_for(follow(), 20)
        finally:
            await gateway.close()

    assert names == {f"pg-{i}" for i in range(5)}


@pytest.mark.parametrize("engine", ["postgres", "mysql", "mariadb", "mongodb", "redis"])
async def test_each_engines_database_and_opsrequest_round_trip_through_the_gateway(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient], engine: str
) -> None:
    _, gateway, _ = simulated
    spec = engines.spec(engine)
    db = wanted(engine=engine)
    for manifest in database_cr.manifests_for(db):
        await gateway.create(
            engines.REDIS_SENTINEL
            if manifest["kind"] == "RedisSentinel"
            else spec.database_resource,
            manifest,
        )

    async def ready() -> bool:
        found = await gateway.get(spec.database_resource, "orders", namespace="default")
        return (found.get("status") or {}).get("phase") == "Ready"

    await eventually(ready, timeout=15)
    request = ops_requests.restart(db, operation_id="op-0123456789abcdef")
    await gateway.create(spec.ops_resource, request)
    listed = await gateway.list(
        spec.ops_resource,
        namespace="default",
        labels={"dbaas.io/operation-id": "op-0123456789abcdef"},
    )

    async def succeeded() -> bool:
        found = await gateway.get(
            spec.ops_resource, request["metadata"]["name"], namespace="default"
        )
        return (found.get("status") or {}).get("phase") == "Successful"

    await eventually(succeeded, timeout=15)
    await gateway.delete(spec.ops_resource, request["metadata"]["name"], namespace="default")

    assert [o["metadata"]["name"] for o in listed] == [request["metadata"]["name"]]
    assert (
        await gateway.find(spec.ops_resource, request["metadata"]["name"], namespace="default")
        is None
    )


async def test_every_call_is_counted_by_verb_and_outcome(
    simulated: tuple[Served, KubeGateway, httpx.AsyncClient],
) -> None:
    served, _, admin = simulated
    metrics = Metrics()
    gateway = KubeGateway.connect(
        ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=2, metrics=metrics
    )
    try:
        await gateway.ping()
        assert await gateway.find(PG.database_resource, "absent", namespace="default") is None
        await gateway.list(PG.database_resource, all_namespaces=True)
        await admin.put("/_sim/config", json={"error_rate": 1.0})
        with pytest.raises(errors.Unavailable):
            await gateway.list(PG.database_resource, all_namespaces=True)
    finally:
        await admin.put("/_sim/config", json={"error_rate": 0.0})
        await gateway.close()

    def calls(verb: str, outcome: str) -> float | None:
        labels = {"verb": verb, "outcome": outcome}
        return metrics.registry.get_sample_value("dbaas_cluster_calls_total", labels)

    assert calls("get", "ok") == 1
    assert calls("get", "not_found") == 1
    assert calls("list", "ok") == 1
    assert calls("list", "unavailable") == 1
