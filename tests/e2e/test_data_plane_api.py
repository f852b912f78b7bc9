"""The API tells the truth about a database's data plane (issue 15, deliverable 4): the
simulator's data plane publishes on the AppBinding where a real server listens
(`spec.clientConfig.url`) and whether one does (the `dataplane.simulator.kubedb-dbaas.io`
annotations); the API hands that address out, and a real client connects with it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg

from app.domain import namespaces
from app.main import Runtime
from simulator.server import Served
from tests.e2e.platform import BASE, create, finished
from tests.support import eventually

NAMESPACE = namespaces.namespace_for("acme", "shop")


async def _body_once(client: httpx.AsyncClient, path: str, **wanted: Any) -> dict[str, Any]:
    async def matches() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(path)).json()
        return body if all(body[k] == v for k, v in wanted.items()) else None

    return await eventually(matches, timeout=20, interval=0.05, message=f"{path} {wanted}")


def _rows(connection_string: str, *statements: str) -> list[Any]:
    with psycopg.connect(connection_string, connect_timeout=5, autocommit=True) as conn:
        rows: list[Any] = []
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else rows
        return rows


async def test_a_modelled_database_says_so_and_is_reached_at_its_service_dns_name(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, _ = platform  # the in-process simulator runs no real server by default
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    body = await _body_once(client, path, data_plane="modelled")
    credentials = (await client.get(f"{path}/credentials")).json()

    host = f"orders.{NAMESPACE}.svc"
    assert (body["endpoint"], body["port"], body["server_version"]) == (host, 5432, None)
    assert (credentials["host"], credentials["port"]) == (host, 5432)
    assert f"@{host}:5432/postgres?" in credentials["connection_string"]


async def test_a_real_database_hands_out_an_address_where_its_rows_are_written_and_read(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    body = await _body_once(client, path, data_plane="real")
    credentials = (await client.get(f"{path}/credentials")).json()
    rows = await asyncio.to_thread(
        _rows,
        credentials["connection_string"],
        "create table notes (body text)",
        "insert into notes values ('hello')",
        "select body from notes",
    )

    assert (body["endpoint"], credentials["host"]) == ("127.0.0.1", "127.0.0.1")
    assert body["port"] == credentials["port"] != 5432
    assert body["version"] == "16.13" and body["server_version"].startswith("18.")
    assert rows == [("hello",)]
