"""The API tells the truth about a database's data plane (issue 15, deliverable 4): its
AppBinding says where it serves (`spec.clientConfig.url` in the embedded cluster, else the
Service's DNS name) and whether a real server does (the `dataplane.simulator.kubedb-dbaas.io`
annotations). Until the simulator's data plane writes them, these tests write them on the
AppBinding through the simulator's own client, as the simulator will."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from app.domain import data_plane, namespaces
from app.main import Runtime
from simulator.server import Served
from tests.e2e.platform import BASE, create, finished
from tests.support import eventually

NAMESPACE = namespaces.namespace_for("acme", "shop")


async def _bind(served: Served, name: str, *, url: str, mode: str, version: str | None) -> None:
    annotations = {data_plane.MODE_ANNOTATION: mode}
    if version is not None:
        annotations[data_plane.SERVER_VERSION_ANNOTATION] = version
    await served.client().patch(
        "appbindings",
        name,
        {"metadata": {"annotations": annotations}, "spec": {"clientConfig": {"url": url}}},
        namespace=NAMESPACE,
    )


async def _body_once(client: httpx.AsyncClient, path: str, **wanted: Any) -> dict[str, Any]:
    async def matches() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(path)).json()
        return body if all(body[k] == v for k, v in wanted.items()) else None

    return await eventually(matches, timeout=10, interval=0.05, message=f"{path} {wanted}")


async def test_a_database_whose_appbinding_has_no_url_is_real_at_its_service_dns_name(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, _ = platform
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    body = (await client.get(path)).json()
    credentials = (await client.get(f"{path}/credentials")).json()

    host = f"orders.{NAMESPACE}.svc"
    assert (body["data_plane"], body["server_version"]) == ("real", None)
    assert (body["endpoint"], body["port"]) == (host, 5432)
    assert (credentials["host"], credentials["port"]) == (host, 5432)
    assert f"@{host}:5432/postgres?" in credentials["connection_string"]


async def test_the_appbindings_url_and_server_version_become_the_address_the_api_hands_out(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    await _bind(
        served, "orders", url="postgresql://127.0.0.1:54321/postgres", mode="real", version="18.1"
    )
    body = await _body_once(client, path, endpoint="127.0.0.1", port=54321)
    status = (await client.get(f"{path}/status")).json()
    credentials = (await client.get(f"{path}/credentials")).json()

    userinfo = (
        f"{quote(credentials['username'], safe='')}:{quote(credentials['password'], safe='')}"
    )
    assert (body["data_plane"], body["version"], body["server_version"]) == (
        "real",
        "16.13",
        "18.1",
    )
    assert (status["endpoint"], status["port"]) == ("127.0.0.1", 54321)
    assert (credentials["host"], credentials["port"]) == ("127.0.0.1", 54321)
    assert credentials["connection_string"] == (
        f"postgresql://{userinfo}@127.0.0.1:54321/postgres?sslmode=disable"
    )


async def test_a_modelled_database_says_so_and_keeps_saying_so_while_paused(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    runtime, client, served = platform
    created = await create(client, name="cache", engine="redis")
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    await _bind(served, "cache", url="redis://127.0.0.1:6390", mode="modelled", version=None)
    modelled = await _body_once(client, path, data_plane="modelled", port=6390)
    credentials = (await client.get(f"{path}/credentials")).json()
    paused = await finished(client, await client.post(f"{path}/pause"))
    binding_gone = await served.client().find("appbindings", "cache", namespace=NAMESPACE)
    passes = runtime.status_sync.passes

    async def synced_again() -> bool:
        return runtime.status_sync.passes > passes + 1

    await eventually(synced_again, timeout=10, interval=0.05, message="two sync passes")
    after = (await client.get(path)).json()

    userinfo = (
        f"{quote(credentials['username'], safe='')}:{quote(credentials['password'], safe='')}"
    )
    assert (modelled["endpoint"], modelled["server_version"]) == ("127.0.0.1", None)
    assert credentials["connection_string"] == f"redis://{userinfo}@127.0.0.1:6390/0"
    assert paused["status"] == "succeeded" and binding_gone is None
    assert (after["status"], after["data_plane"], after["endpoint"], after["port"]) == (
        "paused",
        "modelled",
        "127.0.0.1",
        6390,
    )
