"""The data plane's MariaDB adapter: MariaDB and MySQL databases get a real MariaDB server
where `mariadbd` is installed, reached with a real client (PyMySQL) at the address the
AppBinding publishes; skipped where no server binary exists (the kinds stay modelled)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest

from simulator.client import Client
from simulator.kubedb import install
from simulator.kubedb.dataplane import mariadb, processes
from simulator.kubedb.dataplane.plane import DataPlane
from simulator.kubedb.dataplane.port import Credentials, ServerSpec
from simulator.server import Simulator, run_simulator
from tests.support import eventually

pytestmark = pytest.mark.skipif(
    not mariadb.available(),
    reason="no mariadbd, mariadb-install-db and mariadb client on PATH, /usr/sbin or "
    "/usr/local/sbin: MariaDB and MySQL stay modelled here",
)

MODE = "dataplane.simulator.kubedb-dbaas.io/mode"
SERVER_VERSION = "dataplane.simulator.kubedb-dbaas.io/server-version"
VERSIONS = {"MariaDB": "10.11.14", "MySQL": "8.0.36"}
PLURALS = {"MariaDB": "mariadbs", "MySQL": "mysqls"}


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with run_simulator(simulator=Simulator(plugins=[install], seed=5)) as served:
        served.simulator.config.update(
            {"time_scale": 0.01, "provisioning_step_seconds": 1, "real_databases": 2}
        )
        yield served.client()


def database(kind: str, name: str = "db1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "version": VERSIONS[kind],
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
            **spec,
        },
    }


async def phase(client: Client, kind: str, name: str = "db1") -> str | None:
    found = await client.find(PLURALS[kind], name)
    return None if found is None else (found.get("status") or {}).get("phase")


async def ready(client: Client, kind: str) -> None:
    async def is_ready() -> bool:
        return await phase(client, kind) == "Ready"

    await eventually(is_ready, timeout=30, message=f"{kind} Ready")


async def real_url(client: Client, name: str = "db1") -> str:
    async def published() -> str | None:
        binding = await client.find("appbindings", name)
        if binding is None or binding["metadata"]["annotations"].get(MODE) != "real":
            return None
        return str(binding["spec"]["clientConfig"]["url"])

    return await eventually(published, timeout=30, message="a real server's url")


async def secret(client: Client, name: str = "db1") -> tuple[str, str]:
    data = (await client.get("secrets", f"{name}-auth"))["data"]
    return base64.b64decode(data["username"]).decode(), base64.b64decode(data["password"]).decode()


def _sql(url: str, user: str, password: str, statements: list[str]) -> list[Any]:
    where = urlsplit(url)
    conn = pymysql.connect(
        host=str(where.hostname),
        port=int(where.port or 3306),
        user=user,
        password=password,
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


async def query(url: str, login: tuple[str, str], *statements: str) -> list[Any]:
    return await asyncio.to_thread(_sql, url, *login, list(statements))


async def test_a_mariadb_database_gets_a_real_server_whose_rows_survive_halt_and_resume(
    client: Client,
) -> None:
    await client.create(database("MariaDB"))
    url = await real_url(client)
    await ready(client, "MariaDB")
    assert url.startswith("mysql://127.0.0.1:")
    binding = await client.get("appbindings", "db1")
    assert binding["metadata"]["annotations"][SERVER_VERSION] == await mariadb.MariaDB().version()
    login = await secret(client)
    assert login[0] == "root"
    await query(
        url,
        login,
        "create database app",
        "create table app.notes (body text)",
        "insert into app.notes values ('kept')",
    )

    await client.patch("mariadbs", "db1", {"spec": {"halted": True}})

    async def halted_and_refusing() -> bool:
        if await phase(client, "MariaDB") != "Halted":
            return False
        try:
            await query(url, login, "select 1")
        except pymysql.err.OperationalError:
            return True
        return False

    await eventually(halted_and_refusing, timeout=30, message="halted, server stopped")
    await client.patch("mariadbs", "db1", {"spec": {"halted": False}})
    url = await real_url(client)
    await ready(client, "MariaDB")
    assert await query(url, login, "select body from app.notes") == [("kept",)]


async def test_a_mysql_rotation_refuses_the_old_password_and_the_new_one_reads_the_rows(
    client: Client,
) -> None:
    await client.create(database("MySQL"))
    url = await real_url(client)
    await ready(client, "MySQL")
    old = await secret(client)
    await query(url, old, "create database app", "create table app.t (n int)")
    await query(url, old, "insert into app.t values (7)")
    await client.create(
        {
            "apiVersion": "ops.kubedb.com/v1alpha1",
            "kind": "MySQLOpsRequest",
            "metadata": {"name": "rotate", "namespace": "default"},
            "spec": {"type": "RotateAuth", "databaseRef": {"name": "db1"}},
        }
    )

    async def rotated() -> bool:
        new = await secret(client)
        if new == old:
            return False
        try:
            return await query(url, new, "select n from app.t") == [(7,)]
        except pymysql.err.OperationalError:
            return False

    await eventually(rotated, timeout=30, message="the new password works")
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        await query(url, old, "select 1")


async def test_a_vertical_scaling_resizes_the_buffer_pool_without_a_restart(
    client: Client,
) -> None:
    await client.create(database("MariaDB"))
    url = await real_url(client)
    await ready(client, "MariaDB")
    login = await secret(client)
    [(started,)] = await query(url, login, "select @@innodb_buffer_pool_size")
    assert started == mariadb.buffer_pool(2**30)  # KubeDB's default limit: 1Gi
    await client.create(
        {
            "apiVersion": "ops.kubedb.com/v1alpha1",
            "kind": "MariaDBOpsRequest",
            "metadata": {"name": "shrink", "namespace": "default"},
            "spec": {
                "type": "VerticalScaling",
                "databaseRef": {"name": "db1"},
                "verticalScaling": {
                    "mariadb": {"resources": {"limits": {"memory": "256Mi", "cpu": "500m"}}}
                },
            },
        }
    )

    async def resized() -> bool:
        try:
            [(now,)] = await query(url, login, "select @@innodb_buffer_pool_size")
        except pymysql.err.OperationalError:
            return False
        return bool(now == mariadb.buffer_pool(256 * 2**20))

    await eventually(resized, timeout=30, message="the buffer pool of a 256Mi limit")


async def test_with_a_state_file_a_restarted_simulator_brings_mariadb_back_on_its_data() -> None:
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dataplane-state-"))
    try:
        await asyncio.to_thread(folder.chmod, 0o711)  # the servers' user walks through it
        urls = []
        for first in (True, False):
            sim = Simulator(plugins=[install], seed=5, state=folder / "state.db")
            async with run_simulator(simulator=sim) as served:
                sim.config.update({"time_scale": 0.01, "real_databases": 1})
                client = served.client()
                if first:
                    await client.create(database("MariaDB"))
                await ready(client, "MariaDB")
                login = await secret(client)
                if first:
                    url = await real_url(client)
                    await query(url, login, "create database app", "create table app.t (n int)")
                    await query(url, login, "insert into app.t values (42)")

                async def rows(client: Client = client, login: tuple[str, str] = login) -> Any:
                    try:  # the AppBinding's url, once the restarted server answers
                        return await query(await real_url(client), login, "select n from app.t")
                    except pymysql.err.OperationalError:
                        return []

                assert await eventually(rows, timeout=30, message="the rows") == [(42,)]
                urls.append(await real_url(client))
        assert urls[0] == urls[1]  # the port was free: the same address
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _folder_of(name: str, uid: str) -> Path:
    pattern = f"kubedb-sim-dataplane-*/default/data-{name}-0/meta.json"
    for meta in Path(tempfile.gettempdir()).glob(pattern):
        if json.loads(meta.read_text()).get("pvc") == uid:
            return meta.parent
    raise AssertionError(f"no server folder for {name}")


async def test_a_killed_mariadb_recovers_its_committed_rows_after_the_model_restarts_it(
    client: Client,
) -> None:
    await client.create(database("MariaDB"))
    url = await real_url(client)
    await ready(client, "MariaDB")
    login = await secret(client)
    await query(url, login, "create database app", "create table app.t (n int)")
    await query(url, login, "insert into app.t values (3)")
    uid = (await client.get("persistentvolumeclaims", "data-db1-0"))["metadata"]["uid"]
    folder = await asyncio.to_thread(_folder_of, "db1", str(uid))
    pid = int((await asyncio.to_thread(mariadb.pid_file(folder).read_text)).split()[0])
    os.kill(pid, signal.SIGKILL)

    async def unhealthy() -> bool:
        return await phase(client, "MariaDB") in ("NotReady", "Critical")

    await eventually(unhealthy, timeout=30, interval=0.01, message="NotReady or Critical")
    await ready(client, "MariaDB")
    assert await query(url, login, "select n from app.t") == [(3,)]


async def test_a_mariadb_server_left_by_a_crash_is_stopped_by_its_pid_file() -> None:
    root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dataplane-orphans-"))
    try:
        await asyncio.to_thread(root.chmod, 0o711)
        folder = root / "default" / "data-db1-0"
        spec = ServerSpec(
            folder=folder,
            port=processes.free_port(),
            credentials=Credentials("root", "secret"),
            memory_bytes=2**30,
            account=await asyncio.to_thread(processes.account),
        )
        server = mariadb.MariaDB()
        handle = await server.start(spec)
        (folder / "meta.json").write_text(json.dumps({"kind": "MariaDB"}))
        await eventually(lambda: server.probe(handle), timeout=30, message="serving")

        stopped = await asyncio.to_thread(DataPlane._stop_orphans, root)

        assert handle.process is not None
        assert (stopped, await handle.process.wait()) == (1, 0)  # a clean shutdown
    finally:
        await asyncio.to_thread(shutil.rmtree, root, True)
