"""`/api/v1/providers` over HTTP: the app with simulator A as its own cluster (the `local`
provider) and simulator B registered as a second provider, each on a loopback socket."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.domain.api_keys import Role
from app.services.api_keys import issue_key
from simulator.registry import CORE_TYPES, Registry
from simulator.server import Served, Simulator, run_simulator
from tests.e2e.conftest import SECOND_TOKEN
from tests.e2e.platform import Platform
from tests.support import free_port

URL = "/api/v1/providers"


TOKEN = SECOND_TOKEN


def kubeconfig(served: Served) -> str:
    """The simulator's kubeconfig with its bearer token, the secret part of a kubeconfig."""
    return yaml.safe_dump(served.kubeconfig())


def provider_body(served: Served, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "eu-west-1",
        "region": "eu-west",
        "availability_zone": "eu-west-1a",
        "cloud_provider": "aws",
        "cpu_total_cores": 32,
        "memory_total_gb": 128,
        "storage_total_gb": 2000,
        "priority": 5,
        "tags": ["ssd"],
        "metadata": {"team": "platform"},
        "kubeconfig_content": kubeconfig(served),
    }
    body.update(changes)
    return body


async def test_the_local_cluster_is_a_provider_from_the_first_start(
    two_clusters: tuple[Platform, Served],
) -> None:
    (_, client, _), _ = two_clusters

    listed = (await client.get(URL)).json()

    assert listed["total"] == 1
    local = listed["providers"][0]
    assert (local["name"], local["connection"]) == ("local", "default")
    assert local["capacity"]["cpu"] == {
        "total": 64,
        "reservation_percent": 80,
        "allocatable": 51.2,
        "allocated": 0,
        "available": 51.2,
    }


async def test_a_provider_is_registered_with_its_kubeconfig_encrypted_and_never_shown(
    two_clusters: tuple[Platform, Served],
    caplog: pytest.LogCaptureFixture,
) -> None:
    (runtime, client, _), second = two_clusters
    body = provider_body(second)

    created = await client.post(URL, json=body)
    stored = await runtime.store.providers.get(created.json()["id"])
    fetched = await client.get(f"{URL}/{created.json()['id']}")

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{URL}/{created.json()['id']}"
    out = created.json()
    assert (out["connection"], out["region"], out["priority"]) == ("kubeconfig", "eu-west", 5)
    assert out["capacity"]["storage"]["allocatable"] == 1600
    assert stored is not None and stored.kubeconfig_encrypted is not None
    for text in (created.text, fetched.text, stored.kubeconfig_encrypted, caplog.text):
        assert TOKEN not in text
    for text in (created.text, fetched.text, stored.kubeconfig_encrypted):
        assert "clusters" not in text
    assert "provider_created" in caplog.text  # the log was captured


async def test_a_base64_kubeconfig_a_path_and_an_endpoint_are_accepted(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), second = two_clusters
    text = kubeconfig(second)
    path = runtime.settings.kubeconfig_dir / "second.kubeconfig"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)

    encoded = await client.post(
        URL,
        json=provider_body(
            second, name="by-base64", kubeconfig_content=base64.b64encode(text.encode()).decode()
        ),
    )
    by_path = await client.post(
        URL,
        json=provider_body(
            second, name="by-path", kubeconfig_content=None, kubeconfig_path=str(path)
        ),
    )
    by_url = await client.post(
        URL,
        json=provider_body(second, name="by-url", kubeconfig_content=None, api_endpoint=second.url),
    )

    assert [r.status_code for r in (encoded, by_path)] == [201] * 2
    assert [r.json()["connection"] for r in (encoded, by_path)] == [
        "kubeconfig",
        "kubeconfig_path",
    ]
    # A bare address carries no credentials: a cluster that authenticates refuses it.
    assert by_url.status_code == 422
    assert "refused the credentials: Unauthorized" in by_url.json()["error"]["message"]


async def test_an_unreachable_cluster_or_one_without_kubedb_is_refused_with_the_reason(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), second = two_clusters
    nobody = f"http://127.0.0.1:{free_port()}"

    # A Kubernetes API server without KubeDB's resource types.
    async with run_simulator(simulator=Simulator(registry=Registry(CORE_TYPES))) as bare:
        no_kubedb = await client.post(
            URL,
            json=provider_body(bare, name="bare"),
        )
    unreachable = await client.post(
        URL, json=provider_body(second, name="gone", kubeconfig_content=None, api_endpoint=nobody)
    )
    not_a_kubeconfig = await client.post(
        URL,
        json=provider_body(
            second, name="junk", kubeconfig_content="certainly: [not, a, kubeconfig]"
        ),
    )

    assert no_kubedb.status_code == 422
    assert no_kubedb.json()["error"]["code"] == "provider_unreachable"
    assert "KubeDB is not installed" in no_kubedb.json()["error"]["message"]
    assert unreachable.status_code == 422
    assert "does not answer" in unreachable.json()["error"]["message"]
    assert not_a_kubeconfig.status_code == 422
    assert "kubeconfig_content" in not_a_kubeconfig.json()["error"]["details"]["fields"]
    assert [p.name for p in await runtime.store.providers.all()] == ["local"]


async def test_bad_bodies_names_taken_and_non_admin_keys_are_refused(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), second = two_clusters
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="acme")
    await client.post(URL, json=provider_body(second))

    taken = await client.post(URL, json=provider_body(second))
    both_ways = await client.post(
        URL, json=provider_body(second, name="x", api_endpoint=second.url)
    )
    no_way = await client.post(URL, json=provider_body(second, name="y", kubeconfig_content=None))
    bad_percent = await client.post(
        URL, json=provider_body(second, name="z", cpu_reservation_percent=0)
    )
    as_owner = await client.get(URL, headers={"Authorization": f"Bearer {owner.token}"})

    assert taken.status_code == 409 and taken.json()["error"]["code"] == "provider_name_taken"
    assert [r.status_code for r in (both_ways, no_way, bad_percent)] == [422] * 3
    assert "cpu_reservation_percent" in str(bad_percent.json()["error"]["details"])
    assert as_owner.status_code == 403


async def test_providers_are_filtered_paged_changed_and_deleted(
    two_clusters: tuple[Platform, Served],
) -> None:
    (_, client, _), second = two_clusters
    first = (await client.post(URL, json=provider_body(second))).json()
    await client.post(URL, json=provider_body(second, name="us-1", region="us-east"))

    in_eu = (await client.get(URL, params={"region": "eu-west"})).json()
    page = (await client.get(URL, params={"page": 2, "page_size": 2})).json()
    changed = await client.patch(
        f"{URL}/{first['id']}", json={"priority": 9, "is_maintenance": True, "cpu_total_cores": 40}
    )
    null = await client.patch(f"{URL}/{first['id']}", json={"region": None})
    deleted = await client.delete(f"{URL}/{first['id']}")
    gone = await client.get(f"{URL}/{first['id']}")

    assert [p["name"] for p in in_eu["providers"]] == ["eu-west-1"]
    assert (page["total"], len(page["providers"]), page["page"]) == (3, 1, 2)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["priority"], changed.json()["is_maintenance"]) == (9, True)
    assert changed.json()["capacity"]["cpu"]["allocatable"] == 32
    assert null.status_code == 422
    assert deleted.status_code == 204 and gone.status_code == 404


async def test_a_provider_with_databases_is_not_deleted(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), _ = two_clusters
    local = (await client.get(URL)).json()["providers"][0]
    from app.domain.databases import Database

    await runtime.store.databases.insert(
        Database(
            name="orders",
            domain="acme",
            project="shop",
            engine="postgres",
            version="16.13",
            provider_id=local["id"],
        )
    )

    refused = await client.delete(f"{URL}/{local['id']}")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "provider_in_use"
    assert refused.json()["error"]["details"]["databases"] == 1


async def test_a_providers_versions_come_from_its_own_catalog(
    two_clusters: tuple[Platform, Served],
) -> None:
    (_, client, _), second = two_clusters
    created = (await client.post(URL, json=provider_body(second))).json()

    versions = await client.get(f"{URL}/{created['id']}/versions/postgres")
    unknown = await client.get(f"{URL}/{created['id']}/versions/oracle")

    assert versions.status_code == 200
    assert "16.13" in [v["version"] for v in versions.json()]
    assert sum(v["default"] for v in versions.json()) == 1
    assert unknown.status_code == 422
    assert json.loads(unknown.text)["error"]["code"] == "validation_error"


async def test_a_changed_connection_is_checked_again_and_a_bad_one_changes_nothing(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), second = two_clusters
    created = (await client.post(URL, json=provider_body(second))).json()
    nobody = f"http://127.0.0.1:{free_port()}"

    moved = await client.patch(f"{URL}/{created['id']}", json={"api_endpoint": nobody})
    renamed = await client.patch(f"{URL}/{created['id']}", json={"name": "eu-west-2"})
    stored = await runtime.store.providers.get(created["id"])

    assert moved.status_code == 422
    assert moved.json()["error"]["code"] == "provider_unreachable"
    assert renamed.status_code == 200 and renamed.json()["connection"] == "kubeconfig"
    assert stored is not None and stored.api_endpoint is None
    assert stored.kubeconfig_encrypted is not None


async def test_a_kubeconfig_that_runs_a_command_or_reads_a_file_is_refused_unrun(
    two_clusters: tuple[Platform, Served],
    tmp_path: Path,
) -> None:
    (_, client, _), second = two_clusters
    ran = tmp_path / "the-command-ran"
    config = second.kubeconfig()
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "/bin/sh",
            "args": ["-c", f"touch {ran}"],
        }
    }
    reads = second.kubeconfig()
    reads["users"][0]["user"] = {"tokenFile": "/etc/hostname"}
    outside = tmp_path / "elsewhere.kubeconfig"
    outside.write_text(kubeconfig(second))

    by_exec = await client.post(
        URL, json=provider_body(second, kubeconfig_content=yaml.safe_dump(config))
    )
    by_file = await client.post(
        URL, json=provider_body(second, name="reads", kubeconfig_content=yaml.safe_dump(reads))
    )
    by_path = await client.post(
        URL,
        json=provider_body(
            second, name="outside", kubeconfig_content=None, kubeconfig_path=str(outside)
        ),
    )
    broken = await client.post(
        URL,
        json=provider_body(
            second, name="broken", kubeconfig_content=f"token: {TOKEN}\n  bad: [indent"
        ),
    )

    assert by_exec.status_code == 422 and "runs a command" in by_exec.text
    assert not ran.exists()
    assert by_file.status_code == 422 and "reads a file" in by_file.text
    assert by_path.status_code == 422 and "PROVIDER_KUBECONFIG_DIR" in by_path.text
    assert broken.status_code == 422 and TOKEN not in broken.text


async def test_a_provider_holding_reserved_capacity_is_not_deleted(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), second = two_clusters
    created = (await client.post(URL, json=provider_body(second))).json()
    # A create in flight: reserved on the provider, its record not written yet.
    await runtime.store.providers.update_fields(created["id"], {"cpu_allocated_cores": 0.5})

    refused = await client.delete(f"{URL}/{created['id']}")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "provider_in_use"
