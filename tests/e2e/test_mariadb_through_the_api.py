"""MariaDB data proven through the API (issue 15): where `mariadbd` is installed, the
connection string the API hands out reaches the simulator's real MariaDB server with a
real client (PyMySQL), and a rotation asked of the API refuses the old password."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pymysql
import pytest

from simulator.kubedb.dataplane import mariadb
from tests.e2e.platform import BASE, Platform, create, finished
from tests.support import eventually

pytestmark = pytest.mark.skipif(
    not mariadb.available(), reason="no mariadbd on PATH, /usr/sbin or /usr/local/sbin"
)


def _sql(connection_string: str, statements: tuple[str, ...]) -> list[Any]:
    where = urlsplit(connection_string)
    assert where.scheme == "mysql", connection_string
    conn = pymysql.connect(
        host=str(where.hostname),
        port=int(where.port or 3306),
        user=unquote(str(where.username)),
        password=unquote(str(where.password)),
        connect_timeout=5,
        autocommit=True,
    )
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return list(cursor.fetchall())
    finally:
        conn.close()


async def sql(connection_string: str, *statements: str) -> list[Any]:
    return await asyncio.to_thread(_sql, connection_string, statements)


async def connection_string(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(f"{path}/credentials")
    assert response.status_code == 200, response.text
    return str(response.json()["connection_string"])


async def test_a_mariadb_database_reads_its_rows_and_a_rotation_refuses_the_old_password(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    created = await create(client, engine="mariadb")
    operation = await finished(client, created)
    assert operation["status"] == "succeeded", operation["error_message"]
    path = f"{BASE}/{created.json()['id']}"

    async def real() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(path)).json()
        wanted = (body["data_plane"], body["health_status"], body["endpoint"])
        return body if wanted == ("real", "healthy", "127.0.0.1") else None

    await eventually(real, timeout=30, interval=0.05, message="real and healthy")
    old = await connection_string(client, path)
    await sql(old, "create database app", "create table app.t (n int)")
    await sql(old, "insert into app.t values (7)")

    rotated = await client.post(f"{path}/credentials/rotate")
    assert (await finished(client, rotated))["status"] == "succeeded"
    new = await connection_string(client, path)

    async def rows() -> list[Any] | None:
        try:
            return await sql(new, "select n from app.t")
        except pymysql.err.OperationalError:
            return None

    assert new != old
    assert await eventually(rows, timeout=30, interval=0.1, message="the new password") == [(7,)]
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        await sql(old, "select 1")
