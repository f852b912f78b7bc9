"""The KubeDB operator model inside the simulator, driven over HTTP like a real cluster."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.support import eventually

DB = "/apis/kubedb.com/v1/namespaces/default"
OPS = "/apis/ops.kubedb.com/v1alpha1/namespaces/default"
CORE = "/api/v1/namespaces/default"

VERSIONS = {
    "MongoDB": "8.0.10",
    "Postgres": "16.13",
    "MySQL": "8.4.8",
    "MariaDB": "11.8.5",
    "Redis": "8.2.2",
}
PLURALS = {
    "MongoDB": "mongodbs",
    "Postgres": "postgreses",
    "MySQL": "mysqls",
    "MariaDB": "mariadbs",
    "Redis": "redises",
}


@pytest.fixture
async def cluster() -> AsyncIterator[httpx.AsyncClient]:
    async with (
        run_simulator(simulator=Simulator(plugins=[install])) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as client,
    ):
        response = await client.put(
            "/_sim/config",
            json={"time_scale": 0.01, "provisioning_step_seconds": 1, "ops_seconds": 2},
        )
        assert response.status_code == 200, response.text
        yield client


def database(kind: str, name: str = "db1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": VERSIONS[kind],
        "storage": {"resources": {"requests": {"storage": "10Gi"}}},
    }
    body.update(spec)
    return {"apiVersion": "kubedb.com/v1", "kind": kind, "metadata": {"name": name}, "spec": body}


async def create(client: httpx.AsyncClient, obj: dict[str, Any]) -> httpx.Response:
    if obj["apiVersion"].startswith("ops."):
        path = f"{OPS}/{obj['kind'].lower()}s"
    else:
        path = f"{DB}/{PLURALS[obj['kind']]}"
    return await client.post(path, json=obj)


async def get(client: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    response = await client.get(path)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def wait_phase(client: httpx.AsyncClient, path: str, phase: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        obj = await get(client, path)
        return obj if obj and (obj.get("status") or {}).get("phase") == phase else None

    return await eventually(reached, timeout=15, message=f"{path} {phase}")


@pytest.mark.parametrize("kind", sorted(PLURALS))
async def test_a_new_database_steps_through_its_conditions_to_ready_with_secret_and_services(
    cluster: httpx.AsyncClient, kind: str
) -> None:
    created = await create(cluster, database(kind))
    assert created.status_code == 201, created.text
    assert created.json()["metadata"]["finalizers"] == ["kubedb.com"]

    ready = await wait_phase(cluster, f"{DB}/{PLURALS[kind]}/db1", "Ready")

    types = [c["type"] for c in ready["status"]["conditions"]]
    assert types == [
        "ProvisioningStarted",
        "ReplicaReady",
        "AcceptingConnection",
        "Ready",
        "Provisioned",
    ]
    assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
    secret = await get(cluster, f"{CORE}/secrets/db1-auth")
    assert secret is not None and secret["type"] == "kubernetes.io/basic-auth"
    user = base64.b64decode(secret["data"]["username"]).decode()
    assert (
        user
        == {
            "MongoDB": "root",
            "Postgres": "postgres",
            "MySQL": "root",
            "MariaDB": "root",
            "Redis": "default",
        }[kind]
    )
    assert len(base64.b64decode(secret["data"]["password"])) == 16
    services = (await cluster.get(f"{CORE}/services")).json()["items"]
    names = sorted(s["metadata"]["name"] for s in services)
    standby = kind in ("Postgres", "MySQL", "MariaDB")
    assert names == sorted(["db1", "db1-pods"] + (["db1-standby"] if standby else []))


async def test_the_phase_is_provisioning_while_conditions_are_still_coming(
    cluster: httpx.AsyncClient,
) -> None:
    await cluster.put("/_sim/config", json={"time_scale": 100})
    await create(cluster, database("Postgres"))

    provisioning = await wait_phase(cluster, f"{DB}/postgreses/db1", "Provisioning")

    assert [c["type"] for c in provisioning["status"]["conditions"]] == ["ProvisioningStarted"]


async def test_webhook_denials_come_back_as_kubernetes_status_objects(
    cluster: httpx.AsyncClient,
) -> None:
    missing_version = await create(cluster, database("MongoDB", version="9.9.9"))
    too_many = await create(cluster, database("MongoDB", "db2", replicas=3))

    assert missing_version.status_code == 403
    status = missing_version.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Forbidden", 403)
    assert 'mongodbversions.catalog.kubedb.com "9.9.9" not found' in status["message"]
    assert too_many.status_code == 403
    assert (
        "invalid for 'MongoDB Standalone' instance. Value must be one"
        in (too_many.json()["message"])
    )
    assert await get(cluster, f"{DB}/mongodbs/db1") is None


async def test_do_not_terminate_blocks_deletion_until_the_policy_changes(
    cluster: httpx.AsyncClient,
) -> None:
    await create(cluster, database("Postgres", deletionPolicy="DoNotTerminate"))

    refused = await cluster.delete(f"{DB}/postgreses/db1")
    patched = await cluster.patch(
        f"{DB}/postgreses/db1",
        json={"spec": {"deletionPolicy": "Delete"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    accepted = await cluster.delete(f"{DB}/postgreses/db1")

    assert refused.status_code == 403
    assert "can't be terminated. To delete, change spec.deletionPolicy" in refused.json()["message"]
    assert patched.status_code == 200 and accepted.status_code == 200
    await eventually(lambda: _gone(cluster, f"{DB}/postgreses/db1"), timeout=10)


async def _gone(client: httpx.AsyncClient, path: str) -> bool:
    return await get(client, path) is None


@pytest.mark.parametrize(
    ("policy", "secret_kept"), [("Delete", True), ("Halt", True), ("WipeOut", False)]
)
async def test_deletion_applies_the_policy_then_drops_the_finalizer(
    cluster: httpx.AsyncClient, policy: str, secret_kept: bool
) -> None:
    await create(cluster, database("MySQL", deletionPolicy=policy))
    await wait_phase(cluster, f"{DB}/mysqls/db1", "Ready")

    await cluster.delete(f"{DB}/mysqls/db1")
    await eventually(lambda: _gone(cluster, f"{DB}/mysqls/db1"), timeout=10)

    assert (await get(cluster, f"{CORE}/secrets/db1-auth") is not None) is secret_kept
    assert (await cluster.get(f"{CORE}/services")).json()["items"] == []


async def test_halting_removes_the_services_and_resuming_brings_the_database_back(
    cluster: httpx.AsyncClient,
) -> None:
    await create(cluster, database("MariaDB"))
    await wait_phase(cluster, f"{DB}/mariadbs/db1", "Ready")
    merge = {"Content-Type": "application/merge-patch+json"}

    await cluster.patch(f"{DB}/mariadbs/db1", json={"spec": {"halted": True}}, headers=merge)
    halted = await wait_phase(cluster, f"{DB}/mariadbs/db1", "Halted")
    services_while_halted = (await cluster.get(f"{CORE}/services")).json()["items"]
    await cluster.patch(f"{DB}/mariadbs/db1", json={"spec": {"halted": False}}, headers=merge)
    await wait_phase(cluster, f"{DB}/mariadbs/db1", "Ready")

    assert services_while_halted == []
    assert any(c["type"] == "Halted" for c in halted["status"]["conditions"])
    assert await get(cluster, f"{CORE}/secrets/db1-auth") is not None
    assert len((await cluster.get(f"{CORE}/services")).json()["items"]) == 3


async def test_a_halted_database_with_do_not_terminate_is_rejected(
    cluster: httpx.AsyncClient,
) -> None:
    response = await create(
        cluster, database("Postgres", halted=True, deletionPolicy="DoNotTerminate")
    )

    assert response.status_code == 403
    assert "can't halt" in response.json()["message"]


def ops(kind: str, name: str, op_type: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ops.kubedb.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"type": op_type, "databaseRef": {"name": "db1"}, **spec},
    }


@pytest.mark.parametrize(
    ("kind", "request_spec", "check"),
    [
        (
            "MongoDBOpsRequest",
            {"type": "HorizontalScaling", "horizontalScaling": {"replicas": 5}},
            lambda spec: spec["replicas"] == 5,
        ),
        (
            "PostgresOpsRequest",
            {"type": "VolumeExpansion", "volumeExpansion": {"mode": "Online", "postgres": "20Gi"}},
            lambda spec: spec["storage"]["resources"]["requests"]["storage"] == "20Gi",
        ),
        (
            "PostgresOpsRequest",
            {"type": "UpdateVersion", "updateVersion": {"targetVersion": "17.6"}},
            lambda spec: spec["version"] == "17.6",
        ),
        (
            "PostgresOpsRequest",
            {
                "type": "VerticalScaling",
                "verticalScaling": {
                    "postgres": {"resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}
                },
            },
            lambda spec: (
                spec["podTemplate"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "2"
            ),
        ),
    ],
)
async def test_a_successful_opsrequest_writes_its_change_into_the_database(
    cluster: httpx.AsyncClient, kind: str, request_spec: dict[str, Any], check: Any
) -> None:
    db_kind = kind.removesuffix("OpsRequest")
    extra = {"replicas": 3, "replicaSet": {"name": "rs0"}} if db_kind == "MongoDB" else {}
    await create(cluster, database(db_kind, **extra))
    path = f"{DB}/{PLURALS[db_kind]}/db1"
    await wait_phase(cluster, path, "Ready")
    op_type = request_spec.pop("type")
    await cluster.put("/_sim/config", json={"ops_seconds": 50})  # 0.5 s: long enough to see

    created = await create(cluster, ops(kind, "op1", op_type, **request_spec))
    assert created.status_code == 201, created.text
    progressing = await wait_phase(cluster, f"{OPS}/{kind.lower()}s/op1", "Progressing")
    paused_db = await get(cluster, path)
    done = await wait_phase(cluster, f"{OPS}/{kind.lower()}s/op1", "Successful")
    after = await get(cluster, path)

    assert progressing["status"]["phase"] == "Progressing"
    assert paused_db is not None and any(
        c["type"] == "Paused" for c in paused_db["status"]["conditions"]
    )
    assert done["status"]["conditions"][-1]["type"] == "Successful"
    assert after is not None and check(after["spec"])
    assert not any(c["type"] == "Paused" for c in after["status"]["conditions"])
    assert after["metadata"]["generation"] == 2


async def test_rotating_auth_keeps_the_previous_credentials(cluster: httpx.AsyncClient) -> None:
    await create(cluster, database("Redis"))
    await wait_phase(cluster, f"{DB}/redises/db1", "Ready")
    before = await get(cluster, f"{CORE}/secrets/db1-auth")

    await create(cluster, ops("RedisOpsRequest", "rotate", "RotateAuth"))
    await wait_phase(cluster, f"{OPS}/redisopsrequests/rotate", "Successful")
    after = await get(cluster, f"{CORE}/secrets/db1-auth")

    assert before is not None and after is not None
    assert after["data"]["password.prev"] == before["data"]["password"]
    assert after["data"]["password"] != before["data"]["password"]
    assert after["data"]["username"] == before["data"]["username"]


async def test_a_failing_opsrequest_reports_why_and_leaves_the_database_unchanged(
    cluster: httpx.AsyncClient,
) -> None:
    await create(cluster, database("Postgres"))
    await wait_phase(cluster, f"{DB}/postgreses/db1", "Ready")
    await cluster.put("/_sim/config", json={"ops_failure_probability": 1.0})

    await create(
        cluster,
        ops("PostgresOpsRequest", "op1", "UpdateVersion", updateVersion={"targetVersion": "17.6"}),
    )
    failed = await wait_phase(cluster, f"{OPS}/postgresopsrequests/op1", "Failed")
    db = await get(cluster, f"{DB}/postgreses/db1")

    condition = failed["status"]["conditions"][-1]
    assert (condition["type"], condition["status"]) == ("Failed", "False")
    assert "failed" in condition["message"]
    assert db is not None and db["spec"]["version"] == "16.13"
    assert not any(c["type"] == "Paused" for c in db["status"]["conditions"])


@pytest.mark.parametrize(
    ("kind", "op_type", "spec", "message"),
    [
        (
            "PostgresOpsRequest",
            "UpdateVersion",
            {"updateVersion": {"targetVersion": "13.22"}},
            "upgrade from version 16.13 to 13.22 is not supported",
        ),
        (
            "PostgresOpsRequest",
            "VolumeExpansion",
            {"volumeExpansion": {"mode": "Online", "postgres": "5Gi"}},
            "storage size must be greater than current storage",
        ),
    ],
)
async def test_an_invalid_opsrequest_is_refused_with_422_and_its_cause(
    cluster: httpx.AsyncClient, kind: str, op_type: str, spec: dict[str, Any], message: str
) -> None:
    await create(cluster, database("Postgres"))

    response = await create(cluster, ops(kind, "bad", op_type, **spec))

    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid" and message in status["message"]
    assert status["details"]["causes"][0]["field"].startswith("spec.")


async def test_an_opsrequest_spec_cannot_be_changed(cluster: httpx.AsyncClient) -> None:
    await create(cluster, database("MySQL"))
    await create(cluster, ops("MySQLOpsRequest", "op1", "Restart"))

    response = await cluster.patch(
        f"{OPS}/mysqlopsrequests/op1",
        json={"spec": {"timeout": "5m"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )

    assert response.status_code == 422


async def test_never_provision_and_stuck_ops_knobs_hold_objects_where_they_are(
    cluster: httpx.AsyncClient,
) -> None:
    await cluster.put(
        "/_sim/config",
        json={"never_provision": ["default/stuck*"], "stuck_ops": ["default/forever"]},
    )
    await create(cluster, database("Postgres", "stuck-db"))
    await create(cluster, database("Postgres", "db1"))
    await wait_phase(cluster, f"{DB}/postgreses/db1", "Ready")
    await create(cluster, ops("PostgresOpsRequest", "forever", "Restart"))
    await wait_phase(cluster, f"{OPS}/postgresopsrequests/forever", "Progressing")

    # Long after a normal run would have finished, both are where they were.
    await create(cluster, database("Postgres", "probe"))
    await wait_phase(cluster, f"{DB}/postgreses/probe", "Ready")
    stuck_db = await get(cluster, f"{DB}/postgreses/stuck-db")
    stuck_ops = await get(cluster, f"{OPS}/postgresopsrequests/forever")

    assert stuck_db is not None and stuck_db["status"]["phase"] == "Provisioning"
    assert stuck_ops is not None and stuck_ops["status"]["phase"] == "Progressing"


async def test_health_knobs_turn_a_running_database_critical_or_not_ready_and_back(
    cluster: httpx.AsyncClient,
) -> None:
    path = f"{DB}/postgreses/db1"
    await create(cluster, database("Postgres", "db1"))
    await wait_phase(cluster, path, "Ready")

    await cluster.put("/_sim/config", json={"degraded": ["default/db1"]})
    critical = await wait_phase(cluster, path, "Critical")
    await cluster.put("/_sim/config", json={"degraded": [], "unhealthy": ["default/db*"]})
    not_ready = await wait_phase(cluster, path, "NotReady")
    await cluster.put("/_sim/config", json={"unhealthy": []})
    await wait_phase(cluster, path, "Ready")

    replica = next(c for c in critical["status"]["conditions"] if c["type"] == "ReplicaReady")
    accepting = next(
        c for c in not_ready["status"]["conditions"] if c["type"] == "AcceptingConnection"
    )
    assert (replica["status"], replica["reason"]) == ("False", "ReplicaNotReady")
    assert (accepting["status"], accepting["reason"]) == (
        "False",
        "DatabaseNotAcceptingConnectionRequest",
    )


async def test_a_new_database_under_a_health_fault_ends_provisioned_but_critical(
    cluster: httpx.AsyncClient,
) -> None:
    await cluster.put("/_sim/config", json={"degraded": ["default/weak"]})
    await create(cluster, database("Postgres", "weak"))
    weak = await wait_phase(cluster, f"{DB}/postgreses/weak", "Critical")

    states = {c["type"]: c["status"] for c in weak["status"]["conditions"]}
    assert states["Provisioned"] == "True" and states["ReplicaReady"] == "False"


async def test_a_catalog_file_replaces_the_bundled_catalog(tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(
        json.dumps(
            {
                "PostgresVersion": [
                    {"name": "15.99", "version": "15.99", "deprecated": False},
                    {"name": "14.98", "version": "14.98", "deprecated": True},
                ]
            }
        )
    )
    simulator = Simulator(plugins=[install], catalog_path=catalog_file)

    async with (
        run_simulator(simulator=simulator) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as client,
    ):
        listed = (await client.get("/apis/catalog.kubedb.com/v1alpha1/postgresversions")).json()
        mongo = (await client.get("/apis/catalog.kubedb.com/v1alpha1/mongodbversions")).json()

    assert {v["metadata"]["name"]: v["spec"]["deprecated"] for v in listed["items"]} == {
        "15.99": False,
        "14.98": True,
    }
    assert mongo["items"] == []
