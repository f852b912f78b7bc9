"""Structural schemas of the KubeDB kinds: pruning with `Warning` headers, `fieldValidation`,
422 Invalid with field causes before the webhooks, the OpsRequest type rules, and the
OpenAPI documents kubectl reads (`kubectl explain`, a `kind: List`)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import errors
from simulator.kubeconfig import CONTEXT
from simulator.kubedb import catalog, install
from simulator.schema_check import FieldValidation
from simulator.server import Served, Simulator, run_simulator
from tests.simulator.kube import MERGE
from tests.support import simulator_access

PGS = "/apis/kubedb.com/v1/namespaces/default/postgreses"
PGOPS = "/apis/ops.kubedb.com/v1alpha1/namespaces/default/postgresopsrequests"
KUBECTL = shutil.which("kubectl")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    # HTTPS: kubectl sends its token only over TLS.
    async with run_simulator(
        simulator=Simulator(plugins=[install], seed=7), tls_dir=tmp_path / "tls"
    ) as running:
        running.simulator.config.update({"time_scale": 0.0})
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    access = simulator_access(served.kubeconfig())
    async with httpx.AsyncClient(base_url=served.url, timeout=10.0, **access) as client:
        yield client


def postgres(name: str = "pg1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": "Postgres",
        "metadata": {"name": name},
        "spec": {
            "version": "16.13",
            "replicas": 1,
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
            **spec,
        },
    }


def ops_request(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ops.kubedb.com/v1alpha1",
        "kind": "PostgresOpsRequest",
        "metadata": {"name": name},
        "spec": {"databaseRef": {"name": "pg1"}, **spec},
    }


async def test_an_unknown_field_is_pruned_and_named_in_a_warning_header(
    http: httpx.AsyncClient,
) -> None:
    body = postgres(bogus=1)
    body["metadata"]["colour"] = "blue"

    created = await http.post(PGS, json=body)
    stored = (await http.get(f"{PGS}/pg1")).json()

    assert created.status_code == 201
    assert created.headers.get_list("warning") == [
        '299 - "unknown field \\"metadata.colour\\""',
        '299 - "unknown field \\"spec.bogus\\""',
    ]
    assert "bogus" not in stored["spec"] and "colour" not in stored["metadata"]


async def test_strict_field_validation_refuses_unknown_fields_as_the_api_server_does(
    http: httpx.AsyncClient,
) -> None:
    strict = {"fieldValidation": "Strict"}
    created = await http.post(PGS, json=postgres(bogus=1), params=strict)
    await http.post(PGS, json=postgres())
    patched = await http.patch(
        f"{PGS}/pg1", json={"spec": {"nope": True}}, params=strict, headers=MERGE
    )
    ignored = await http.patch(
        f"{PGS}/pg1",
        json={"spec": {"nope": True}},
        params={"fieldValidation": "Ignore"},
        headers=MERGE,
    )
    unsupported = await http.post(PGS, json=postgres("pg2"), params={"fieldValidation": "Loose"})

    assert created.status_code == 400 and created.json()["reason"] == "BadRequest"
    assert created.json()["message"] == (
        'Postgres in version "v1" cannot be handled as a Postgres: strict decoding error: '
        'unknown field "spec.bogus"'
    )
    assert patched.status_code == 400
    assert patched.json()["message"] == 'strict decoding error: unknown field "spec.nope"'
    assert ignored.status_code == 200 and "warning" not in ignored.headers
    assert "nope" not in ignored.json()["spec"]
    assert unsupported.status_code == 400


@pytest.mark.parametrize(
    ("spec", "field", "reason", "message"),
    [
        (
            {"deletionPolicy": "Nuke"},
            "spec.deletionPolicy",
            "FieldValueNotSupported",
            'Unsupported value: "Nuke": supported values: "Halt", "Delete", "WipeOut", '
            '"DoNotTerminate"',
        ),
        (
            {"replicas": "three"},
            "spec.replicas",
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        ),
        (
            {"storageType": "Sometimes"},
            "spec.storageType",
            "FieldValueNotSupported",
            'Unsupported value: "Sometimes": supported values: "Durable", "Ephemeral"',
        ),
        (
            {"podTemplate": {"spec": {"containers": [{"resources": {}}]}}},
            "spec.podTemplate.spec.containers[0].name",
            "FieldValueRequired",
            "Required value",
        ),
    ],
)
async def test_a_schema_error_answers_422_invalid_with_the_field_cause(
    http: httpx.AsyncClient, spec: dict[str, Any], field: str, reason: str, message: str
) -> None:
    response = await http.post(PGS, json=postgres(**spec))

    status = response.json()
    assert response.status_code == 422 and status["reason"] == "Invalid"
    assert status["message"] == f'Postgres.kubedb.com "pg1" is invalid: {field}: {message}'
    assert status["details"]["causes"] == [{"reason": reason, "message": message, "field": field}]


async def test_a_missing_version_is_a_schema_error_before_the_webhook(
    http: httpx.AsyncClient,
) -> None:
    body = postgres()
    del body["spec"]["version"]

    response = await http.post(PGS, json=body)

    assert response.status_code == 422
    assert response.json()["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.version"}
    ]


async def test_patches_and_in_process_writes_are_checked_too(
    http: httpx.AsyncClient, served: Served
) -> None:
    await http.post(PGS, json=postgres())
    patched = await http.patch(f"{PGS}/pg1", json={"spec": {"halted": "yes"}}, headers=MERGE)
    client = served.client(admission=False)

    with pytest.raises(errors.Invalid) as refused:
        await client.patch("postgreses", "pg1", {"spec": {"deletionPolicy": "Nuke"}})

    assert patched.status_code == 422
    assert patched.json()["details"]["causes"][0]["field"] == "spec.halted"
    assert refused.value.causes[0].field == "spec.deletionPolicy"
    assert (await client.get("postgreses", "pg1"))["spec"]["deletionPolicy"] == "Delete"


async def test_an_opsrequest_of_an_unknown_type_is_refused_and_never_stays_pending(
    http: httpx.AsyncClient,
) -> None:
    await http.post(PGS, json=postgres())

    response = await http.post(PGOPS, json=ops_request("pg1-explode", type="Explode"))
    listed = (await http.get(PGOPS)).json()["items"]

    cause = response.json()["details"]["causes"][0]
    assert response.status_code == 422
    assert cause["field"] == "spec.type" and cause["reason"] == "FieldValueNotSupported"
    assert cause["message"].startswith('Unsupported value: "Explode": supported values: ')
    assert '"Reconfigure"' in cause["message"] and listed == []


@pytest.mark.parametrize(
    ("spec", "field", "text"),
    [
        (
            {"type": "Reconfigure"},
            "spec.configuration",
            "`spec.configuration` nil not supported in Reconfigure type",
        ),
        (
            {"type": "Reconfigure", "configuration": {"restart": "auto"}},
            "spec.configuration",
            "at least one of `RemoveCustomConfig`, `ConfigSecret` or `ApplyConfig`",
        ),
        ({"type": "ReconfigureTLS"}, "spec.tls", "`spec.tls` nil not supported"),
        (
            {"type": "VerticalScaling", "verticalScaling": {"mode": "Restart"}},
            "spec.verticalScaling",
            "at least one component's resources",
        ),
    ],
)
async def test_an_opsrequest_without_what_its_type_needs_is_refused(
    http: httpx.AsyncClient, spec: dict[str, Any], field: str, text: str
) -> None:
    await http.post(PGS, json=postgres())

    response = await http.post(PGOPS, json=ops_request("pg1-op", **spec))

    cause = response.json()["details"]["causes"][0]
    assert response.status_code == 422 and cause["field"] == field
    assert cause["message"].startswith('Invalid value: "pg1-op": ') and text in cause["message"]


async def test_a_reconfigure_with_a_configuration_is_accepted(http: httpx.AsyncClient) -> None:
    await http.post(PGS, json=postgres())
    spec = {"type": "Reconfigure", "configuration": {"applyConfig": {"user.conf": "x=1"}}}

    response = await http.post(PGOPS, json=ops_request("pg1-conf", **spec))

    assert response.status_code == 201, response.text


def test_the_bundled_catalog_passes_its_schemas_strictly() -> None:
    sim = Simulator(plugins=[install])
    objects = catalog.to_objects(catalog.load())

    for obj in objects:
        rt = sim.registry.by_kind(obj["apiVersion"], obj["kind"])
        assert rt is not None
        sim.schemas.enforce(rt, obj, directive=FieldValidation.STRICT, warnings=None)

    assert len(objects) > 20


async def test_openapi_documents_carry_the_kubedb_schemas(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/v3")).json()
    v3 = (await http.get(index["paths"]["apis/kubedb.com/v1"]["serverRelativeURL"])).json()
    v2 = (await http.get("/openapi/v2", headers={"Accept": "application/json"})).json()

    pg = v3["components"]["schemas"]["com.kubedb.v1.Postgres"]
    spec = pg["properties"]["spec"]
    assert spec["required"] == ["version"]
    assert spec["properties"]["deletionPolicy"]["enum"] == [
        "Halt",
        "Delete",
        "WipeOut",
        "DoNotTerminate",
    ]
    assert pg["x-kubernetes-group-version-kind"] == [
        {"group": "kubedb.com", "version": "v1", "kind": "Postgres"}
    ]
    v2_spec = v2["definitions"]["com.kubedb.ops.v1alpha1.PostgresOpsRequest"]["properties"]["spec"]
    assert "Explode" not in v2_spec["properties"]["type"]["enum"]
    assert "Reconfigure" in v2_spec["properties"]["type"]["enum"]


# --- kubectl ----------------------------------------------------------------------------


async def _kubectl(served: Served, tmp_path: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    assert KUBECTL is not None
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps(served.kubeconfig()))
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        f"--kubeconfig={config}",
        f"--context={CONTEXT}",
        f"--cache-dir={tmp_path / 'cache'}",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode()


needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@needs_kubectl
async def test_kubectl_explains_the_postgres_storage_field(served: Served, tmp_path: Path) -> None:
    code, storage = await _kubectl(served, tmp_path, "explain", "postgres.spec.storage")
    _, policy = await _kubectl(served, tmp_path, "explain", "pg.spec.deletionPolicy")

    assert code == 0, storage
    assert "KIND:       Postgres" in storage and "FIELD: storage <Object>" in storage
    assert "storageClassName\t<string>" in storage
    assert "WipeOut" in policy and "DoNotTerminate" in policy


@needs_kubectl
async def test_kubectl_shows_the_422_causes_and_refuses_unknown_fields(
    served: Served, tmp_path: Path
) -> None:
    bad = postgres(deletionPolicy="Nuke")
    unknown = postgres("pg2", bogus=1)

    code, invalid = await _kubectl(served, tmp_path, "create", "-f", "-", stdin=json.dumps(bad))
    strict_code, strict = await _kubectl(
        served, tmp_path, "apply", "-f", "-", stdin=json.dumps(unknown)
    )
    warn_code, warned = await _kubectl(
        served, tmp_path, "apply", "--validate=warn", "-f", "-", stdin=json.dumps(unknown)
    )

    assert code == 1 and 'The Postgres "pg1" is invalid:' in invalid
    assert 'spec.deletionPolicy: Unsupported value: "Nuke": supported values:' in invalid
    assert strict_code == 1 and "Error from server (BadRequest)" in strict
    assert 'strict decoding error: unknown field "spec.bogus"' in strict
    assert warn_code == 0 and 'Warning: unknown field "spec.bogus"' in warned


@needs_kubectl
async def test_kubectl_applies_a_list_of_kinds(served: Served, tmp_path: Path) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s1", "namespace": "default"},
        "data": {"a": "Yg=="},
    }
    items = [secret, dict(postgres(), metadata={"name": "pg1", "namespace": "default"})]
    listed = {"apiVersion": "v1", "kind": "List", "items": items}

    code, out = await _kubectl(served, tmp_path, "apply", "-f", "-", stdin=json.dumps(listed))
    client = served.client()

    assert code == 0, out
    assert "secret/s1 created" in out and "postgres.kubedb.com/pg1 created" in out
    assert (await client.get("postgreses", "pg1"))["spec"]["version"] == "16.13"
