"""What the KubeDB model creates for a database (PetSets, pods, PVCs, Services, AppBinding,
Events), how the database's phase follows its pods, and what deletion policies, halting and
OpsRequests do to those objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from simulator.client import Client
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

VERSIONS = {"MongoDB": "8.0.10", "Postgres": "16.13", "MySQL": "8.4.8", "Redis": "8.2.2"}


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with run_simulator(simulator=Simulator(plugins=[install], seed=3)) as served:
        served.simulator.config.update(
            {"time_scale": 0.01, "provisioning_step_seconds": 1, "ops_seconds": 2}
        )
        yield served


@pytest.fixture
def client(served: Served) -> Client:
    return served.client()


def database(kind: str, name: str = "db1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": VERSIONS[kind],
        "storage": {"resources": {"requests": {"storage": "10Gi"}}},
        **spec,
    }
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": body,
    }


def ops(kind: str, name: str, op_type: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ops.kubedb.com/v1alpha1",
        "kind": f"{kind}OpsRequest",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": op_type, "databaseRef": {"name": "db1"}, **spec},
    }


async def phase_of(client: Client, resource: str, name: str = "db1") -> str | None:
    found = await client.find(resource, name)
    return None if found is None else (found.get("status") or {}).get("phase")


async def wait_phase(client: Client, resource: str, phase: str, name: str = "db1") -> None:
    async def reached() -> bool:
        return await phase_of(client, resource, name) == phase

    await eventually(reached, timeout=15, message=f"{resource}/{name} {phase}")


async def names(client: Client, resource: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in await client.list(resource))


async def test_a_postgres_cluster_gets_what_kubedb_creates_each_with_its_owner(
    client: Client,
) -> None:
    await client.create(database("Postgres", replicas=3))
    await wait_phase(client, "postgreses", "Ready")
    db = await client.get("postgreses", "db1")

    assert await names(client, "petsets") == ["db1"]
    assert await names(client, "pods") == ["db1-0", "db1-1", "db1-2"]
    assert await names(client, "persistentvolumeclaims") == [
        "data-db1-0",
        "data-db1-1",
        "data-db1-2",
    ]
    assert await names(client, "services") == ["db1", "db1-pods", "db1-standby"]
    assert await names(client, "appbindings") == ["db1"]
    uid = db["metadata"]["uid"]
    for resource, name in [
        ("petsets", "db1"),
        ("services", "db1"),
        ("services", "db1-pods"),
        ("appbindings", "db1"),
        ("secrets", "db1-auth"),
    ]:
        owner = (await client.get(resource, name))["metadata"]["ownerReferences"][0]
        assert owner["uid"] == uid and owner["kind"] == "Postgres", (resource, name)
        assert owner["controller"] is True and owner["blockOwnerDeletion"] is True
    pod = await client.get("pods", "db1-0")
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "PetSet"
    assert pod["metadata"]["labels"]["kubedb.com/role"] == "primary"
    assert (await client.get("pods", "db1-2"))["metadata"]["labels"]["kubedb.com/role"] == "standby"
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["containers"][0]["image"].endswith("16.13")
    pvc = await client.get("persistentvolumeclaims", "data-db1-0")
    assert pvc["status"]["phase"] == "Bound" and "ownerReferences" not in pvc["metadata"]
    binding = await client.get("appbindings", "db1")
    assert binding["spec"]["type"] == "kubedb.com/postgres"
    assert binding["spec"]["secret"] == {"name": "db1-auth"}


async def test_sharded_topologies_get_one_petset_per_node_group(client: Client) -> None:
    await client.create(database("Redis", mode="Cluster", cluster={"shards": 3, "replicas": 2}))
    await wait_phase(client, "redises", "Ready")

    assert await names(client, "petsets") == ["db1-shard0", "db1-shard1", "db1-shard2"]
    assert len(await names(client, "pods")) == 6
    assert "data-db1-shard2-1" in await names(client, "persistentvolumeclaims")


async def test_a_sharded_mongodb_gets_shard_config_server_and_mongos_petsets(
    client: Client,
) -> None:
    storage = {"resources": {"requests": {"storage": "1Gi"}}}
    body = database(
        "MongoDB",
        shardTopology={
            "shard": {"shards": 2, "replicas": 3, "storage": storage},
            "configServer": {"replicas": 3, "storage": storage},
            "mongos": {"replicas": 2},
        },
    )
    await client.create(body)
    await wait_phase(client, "mongodbs", "Ready")

    assert await names(client, "petsets") == [
        "db1-configsvr",
        "db1-mongos",
        "db1-shard0",
        "db1-shard1",
    ]
    assert len(await names(client, "pods")) == 11
    claims = await names(client, "persistentvolumeclaims")
    assert len(claims) == 9 and "datadir-db1-shard1-2" in claims
    assert not [c for c in claims if "mongos" in c]


async def test_events_record_what_the_model_did(client: Client) -> None:
    await client.create(database("MySQL"))
    await wait_phase(client, "mysqls", "Ready")

    about_db = await client.list(
        "events", field_selector="involvedObject.kind=MySQL,involvedObject.name=db1"
    )
    messages = {e["message"] for e in about_db}
    assert "Successfully created PetSet default/db1" in messages
    assert "The database is Ready" in messages
    assert all(e["source"]["component"] == "KubeDB Operator" for e in about_db)
    about_petset = await client.list("events", field_selector="involvedObject.kind=PetSet")
    assert {e["reason"] for e in about_petset} == {"SuccessfulCreate"}


@pytest.mark.parametrize(
    ("policy", "pvcs_kept", "secret_kept"),
    [("Halt", True, True), ("Delete", False, True), ("WipeOut", False, False)],
)
async def test_deletion_policies_decide_what_outlives_the_database(
    client: Client, policy: str, pvcs_kept: bool, secret_kept: bool
) -> None:
    await client.create(database("Postgres", replicas=2, deletionPolicy=policy))
    await wait_phase(client, "postgreses", "Ready")

    await client.delete("postgreses", "db1")

    async def settled() -> bool:
        if await client.find("postgreses", "db1") is not None:
            return False
        if await names(client, "pods") or await names(client, "services"):
            return False
        claims = await names(client, "persistentvolumeclaims")
        return bool(claims) is pvcs_kept

    await eventually(settled, timeout=10, message="garbage collected")
    assert await names(client, "petsets") == []
    assert await names(client, "appbindings") == []
    assert (await client.find("secrets", "db1-auth") is not None) is secret_kept
    for claim in await client.list("persistentvolumeclaims"):
        assert "ownerReferences" not in claim["metadata"]


async def test_halt_keeps_the_pvcs_and_the_secret_and_resuming_brings_the_pods_back(
    client: Client,
) -> None:
    await client.create(database("Postgres", replicas=2))
    await wait_phase(client, "postgreses", "Ready")

    await client.patch("postgreses", "db1", {"spec": {"halted": True}})
    await wait_phase(client, "postgreses", "Halted")

    async def torn_down() -> bool:
        return not await names(client, "pods") and not await names(client, "petsets")

    await eventually(torn_down, timeout=10, message="pods gone")
    assert await names(client, "persistentvolumeclaims") == ["data-db1-0", "data-db1-1"]
    assert await client.find("secrets", "db1-auth") is not None
    assert await names(client, "services") == []

    await client.patch("postgreses", "db1", {"spec": {"halted": False}})
    await wait_phase(client, "postgreses", "Ready")
    assert await names(client, "pods") == ["db1-0", "db1-1"]


async def test_horizontal_scaling_adds_pods_and_pvcs_and_scaling_down_removes_them(
    client: Client,
) -> None:
    await client.create(database("MySQL", replicas=3, topology={"mode": "GroupReplication"}))
    await wait_phase(client, "mysqls", "Ready")

    await client.create(ops("MySQL", "up", "HorizontalScaling", horizontalScaling={"member": 5}))
    await wait_phase(client, "mysqlopsrequests", "Successful", "up")
    assert await names(client, "pods") == [f"db1-{i}" for i in range(5)]
    assert await phase_of(client, "mysqls") == "Ready"

    await client.create(ops("MySQL", "down", "HorizontalScaling", horizontalScaling={"member": 3}))
    await wait_phase(client, "mysqlopsrequests", "Successful", "down")

    async def three() -> bool:
        return await names(client, "persistentvolumeclaims") == [f"data-db1-{i}" for i in range(3)]

    await eventually(three, timeout=10, message="PVCs of removed pods deleted")
    assert await names(client, "pods") == [f"db1-{i}" for i in range(3)]


async def test_volume_expansion_grows_every_pvc(client: Client) -> None:
    await client.create(database("Postgres", replicas=2))
    await wait_phase(client, "postgreses", "Ready")

    await client.create(
        ops(
            "Postgres",
            "grow",
            "VolumeExpansion",
            volumeExpansion={"mode": "Online", "postgres": "20Gi"},
        )
    )
    await wait_phase(client, "postgresopsrequests", "Successful", "grow")

    for claim in await client.list("persistentvolumeclaims"):
        assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
        assert claim["status"]["capacity"]["storage"] == "20Gi"


async def test_a_failing_volume_expansion_fails_the_opsrequest_and_leaves_the_pvcs(
    served: Served, client: Client
) -> None:
    await client.create(database("Postgres"))
    await wait_phase(client, "postgreses", "Ready")
    served.simulator.config.update({"failing_volume_expansions": ["default/db1"]})

    await client.create(
        ops(
            "Postgres",
            "grow",
            "VolumeExpansion",
            volumeExpansion={"mode": "Online", "postgres": "20Gi"},
        )
    )
    await wait_phase(client, "postgresopsrequests", "Failed", "grow")

    request = await client.get("postgresopsrequests", "grow")
    expansion = next(c for c in request["status"]["conditions"] if c["type"] == "VolumeExpansion")
    assert expansion["status"] == "False" and expansion["reason"] == "VolumeExpansionFailed"
    failed = next(c for c in request["status"]["conditions"] if c["type"] == "Failed")
    assert "data-db1-0" in failed["message"]
    pvc = await client.get("persistentvolumeclaims", "data-db1-0")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    db = await client.get("postgreses", "db1")
    assert db["spec"]["storage"]["resources"]["requests"]["storage"] == "10Gi"


async def test_an_upgrade_changes_the_pod_images(client: Client) -> None:
    await client.create(database("Postgres", replicas=2))
    await wait_phase(client, "postgreses", "Ready")

    await client.create(
        ops("Postgres", "up", "UpdateVersion", updateVersion={"targetVersion": "17.6"})
    )
    await wait_phase(client, "postgresopsrequests", "Successful", "up")

    for pod in await client.list("pods"):
        assert pod["spec"]["containers"][0]["image"].endswith("17.6")
        assert pod["status"]["containerStatuses"][0]["image"].endswith("17.6")
    assert await phase_of(client, "postgreses") == "Ready"


async def test_a_crash_looping_pod_makes_the_database_critical_with_restarts_growing(
    served: Served, client: Client
) -> None:
    await client.create(database("Postgres", replicas=3))
    await wait_phase(client, "postgreses", "Ready")

    served.simulator.config.update({"crashloop_pods": ["default/db1-2"]})
    await wait_phase(client, "postgreses", "Critical")

    async def restarted_twice() -> bool:
        pod = await client.get("pods", "db1-2")
        return int(pod["status"]["containerStatuses"][0]["restartCount"]) >= 2

    await eventually(restarted_twice, timeout=10, message="restartCount grows")
    pod = await client.get("pods", "db1-2")
    state = pod["status"]["containerStatuses"][0]["state"]
    assert state["waiting"]["reason"] == "CrashLoopBackOff"
    backoff = await client.list("events", field_selector="involvedObject.name=db1-2,reason=BackOff")
    assert len(backoff) == 1 and backoff[0]["count"] >= 2

    served.simulator.config.update({"crashloop_pods": []})
    await wait_phase(client, "postgreses", "Ready")


async def test_a_standalone_database_whose_only_pod_crash_loops_is_not_ready(
    served: Served, client: Client
) -> None:
    await client.create(database("Redis"))
    await wait_phase(client, "redises", "Ready")

    served.simulator.config.update({"crashloop_pods": ["default/db1-*"]})

    await wait_phase(client, "redises", "NotReady")


async def test_a_pending_pvc_keeps_the_pod_pending_and_the_database_provisioning(
    served: Served, client: Client
) -> None:
    served.simulator.config.update({"pending_pvcs": ["default/data-db1-0"]})
    await client.create(database("Postgres"))

    async def scheduling_failed() -> bool:
        events = await client.list("events", field_selector="involvedObject.name=db1-0")
        return any(e["reason"] == "FailedScheduling" for e in events)

    await eventually(scheduling_failed, timeout=10, message="FailedScheduling event")
    assert (await client.get("persistentvolumeclaims", "data-db1-0"))["status"][
        "phase"
    ] == "Pending"
    assert (await client.get("pods", "db1-0"))["status"]["phase"] == "Pending"
    assert await phase_of(client, "postgreses") == "Provisioning"

    served.simulator.config.update({"pending_pvcs": []})
    await wait_phase(client, "postgreses", "Ready")


async def test_a_restart_of_a_database_whose_pod_keeps_crashing_fails_in_the_end(
    served: Served, client: Client
) -> None:
    await client.create(database("MySQL"))
    await wait_phase(client, "mysqls", "Ready")
    served.simulator.config.update({"crashloop_pods": ["default/db1-0"]})
    await wait_phase(client, "mysqls", "NotReady")

    await client.create(ops("MySQL", "restart", "Restart", apply="Always"))
    await wait_phase(client, "mysqlopsrequests", "Failed", "restart")

    request = await client.get("mysqlopsrequests", "restart")
    failed = next(c for c in request["status"]["conditions"] if c["type"] == "Failed")
    assert "timeout waiting for the pods of db1" in failed["message"]
    warnings = await client.list(
        "events", field_selector="involvedObject.name=restart,type=Warning"
    )
    assert [e["reason"] for e in warnings] == ["Failed"]
