"""Discovery and OpenAPI documents, and kubectl itself against the simulator."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import httpx
import pytest

from simulator import errors
from simulator.kubeconfig import CONTEXT
from simulator.server import Served, run_simulator

AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


async def test_version_and_core_discovery(http: httpx.AsyncClient) -> None:
    version = (await http.get("/version")).json()
    api = await http.get("/api", headers={"Accept": AGGREGATED})
    core = (await http.get("/api/v1")).json()

    assert version["gitVersion"].startswith("v1.") and (version["major"], version["minor"]) == (
        "1",
        "32",
    )
    assert api.headers["content-type"] == "application/json"
    assert api.json()["kind"] == "APIVersions" and api.json()["versions"] == ["v1"]
    resources = {r["name"]: r for r in core["resources"]}
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    assert resources["namespaces"]["namespaced"] is False
    assert resources["secrets"]["namespaced"] is True and "watch" in resources["secrets"]["verbs"]
    assert resources["services"]["shortNames"] == ["svc"] and "services/status" in resources


async def test_group_discovery_lists_the_kubedb_kinds(http: httpx.AsyncClient) -> None:
    groups = (await http.get("/apis", headers={"Accept": AGGREGATED})).json()
    kubedb = (await http.get("/apis/kubedb.com/v1")).json()
    ops = (await http.get("/apis/ops.kubedb.com/v1alpha1")).json()
    catalog = (await http.get("/apis/catalog.kubedb.com/v1alpha1")).json()
    group = (await http.get("/apis/kubedb.com")).json()
    missing = await http.get("/apis/nope.example.com/v1")

    assert groups["kind"] == "APIGroupList"
    assert {g["name"] for g in groups["groups"]} == {
        "apps",
        "rbac.authorization.k8s.io",
        "authorization.k8s.io",
        "authentication.k8s.io",
        "kubedb.com",
        "ops.kubedb.com",
        "catalog.kubedb.com",
    }
    mongodb = next(r for r in kubedb["resources"] if r["name"] == "mongodbs")
    assert mongodb == {
        "name": "mongodbs",
        "singularName": "mongodb",
        "namespaced": True,
        "kind": "MongoDB",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "shortNames": ["mg"],
        "categories": ["datastore", "kubedb", "appscode", "all"],
    }
    assert {r["name"]: r["shortNames"] for r in ops["resources"] if "/" not in r["name"]} == {
        "mongodbopsrequests": ["mgops"],
        "postgresopsrequests": ["pgops"],
        "mysqlopsrequests": ["myops"],
        "mariadbopsrequests": ["mariaops"],
        "redisopsrequests": ["rdops"],
    }
    assert all(not r["namespaced"] and "/" not in r["name"] for r in catalog["resources"])
    assert {r["kind"] for r in catalog["resources"]} == {
        "MongoDBVersion",
        "PostgresVersion",
        "MySQLVersion",
        "MariaDBVersion",
        "RedisVersion",
    }
    assert group["preferredVersion"] == {"groupVersion": "kubedb.com/v1", "version": "v1"}
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"


async def test_openapi_v3_indexes_a_document_per_group_version(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/v3")).json()
    url = index["paths"]["apis/kubedb.com/v1"]["serverRelativeURL"]
    document = (await http.get(url)).json()

    assert set(index["paths"]) >= {"api/v1", "apis/kubedb.com/v1", "apis/ops.kubedb.com/v1alpha1"}
    assert "com.kubedb.v1.MongoDB" in document["components"]["schemas"]


async def test_openapi_v2_is_served_in_json_and_as_a_protobuf_stub(
    http: httpx.AsyncClient,
) -> None:
    as_json = await http.get("/openapi/v2", headers={"Accept": "application/json"})
    protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    as_protobuf = await http.get("/openapi/v2", headers={"Accept": protobuf})

    definitions = as_json.json()["definitions"]
    assert as_json.json()["swagger"] == "2.0"
    assert definitions["io.k8s.api.core.v1.Secret"]["properties"]["data"]["type"] == "object"
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in definitions
    assert as_protobuf.headers["content-type"].startswith(
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    )
    assert as_protobuf.content.startswith(b"\n\x032.0\x12")  # swagger "2.0", then info


async def test_kubectl_gets_tables_with_the_printer_columns(http: httpx.AsyncClient) -> None:
    body = {
        "apiVersion": "kubedb.com/v1",
        "kind": "MongoDB",
        "metadata": {"name": "mg1"},
        "spec": {"version": "8.0.17"},
    }
    await http.post("/apis/kubedb.com/v1/namespaces/default/mongodbs", json=body)
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}

    listed = (
        await http.get("/apis/kubedb.com/v1/namespaces/default/mongodbs", headers=accept)
    ).json()
    single = (
        await http.get("/apis/kubedb.com/v1/namespaces/default/mongodbs/mg1", headers=accept)
    ).json()

    assert listed["kind"] == "Table" and listed["metadata"]["resourceVersion"]
    assert [c["name"] for c in listed["columnDefinitions"]] == ["Name", "Version", "Status", "Age"]
    assert listed["rows"][0]["cells"][:3] == ["mg1", "8.0.17", ""]
    assert listed["rows"][0]["object"]["metadata"]["name"] == "mg1"
    assert single["rows"][0]["cells"][0] == "mg1"


@pytest.mark.parametrize("cls", errors.ALL)
def test_every_error_survives_a_round_trip_through_its_status(
    cls: type[errors.ApiError],
) -> None:
    error = cls(
        "message",
        name="x",
        group="g",
        kind="k",
        causes=[errors.Cause("spec.a", "bad")],
        retry_after=2,
    )

    status = error.to_status()
    back = errors.from_status(status)

    assert (status["code"], status.get("reason", "")) == (cls.code, cls.reason)
    assert type(back) is cls and back.to_status() == status


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_creates_lists_patches_and_deletes_against_the_simulator(
    tmp_path: Path,
) -> None:
    async with run_simulator("127.0.0.1", 0, seed=7, tls_dir=tmp_path / "tls") as sim:
        await _kubectl_round_trip(sim, tmp_path)


async def _kubectl_round_trip(sim: Served, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps(sim.kubeconfig()))
    manifest = tmp_path / "mg.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "kubedb.com/v1",
                "kind": "MongoDB",
                "metadata": {"name": "mg1", "labels": {"team": "a"}},
                "spec": {"version": "8.0.17", "replicas": 1},
            }
        )
    )

    async def kubectl(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "kubectl",
            f"--kubeconfig={config}",
            f"--context={CONTEXT}",
            f"--cache-dir={tmp_path / 'cache'}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0, err.decode()
        return out.decode()

    await kubectl("create", "-f", str(manifest))
    await kubectl("apply", "--server-side", "-f", str(manifest))
    await kubectl("patch", "mg", "mg1", "--type=merge", "-p", '{"spec":{"replicas":3}}')
    listed = json.loads(await kubectl("get", "mg", "-l", "team=a", "-o", "json"))
    printed = await kubectl("get", "mg")
    resources = await kubectl("api-resources", "--api-group=kubedb.com")
    await kubectl("delete", "mongodbs.kubedb.com", "mg1")
    remaining = await kubectl("get", "mongodbs", "-o", "name")

    assert [i["spec"]["replicas"] for i in listed["items"]] == [3]
    assert printed.split("\n")[0].split() == ["NAME", "VERSION", "STATUS", "AGE"]
    assert printed.split("\n")[1].split()[:2] == ["mg1", "8.0.17"]
    assert "mongodbs" in resources and "mg" in resources
    assert remaining.strip() == ""
