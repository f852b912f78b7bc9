"""An `s3` BackupStorage written through a real S3 client (boto3) to an S3-compatible server
the test starts (`tests.s3_server`): a real PostgreSQL dump lands in the bucket under the
storage's prefix with the Snapshot's size, a new database is restored from it, a wiped
Snapshot takes its objects along; a storage with wrong keys or no bucket is NotReady with
S3's reason within seconds, and its backups fail naming the reason; an endpoint that never
answers fails the check at its deadline."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from simulator.client import Client
from simulator.kubedb import install
from simulator.kubedb.backup import s3 as s3_backend
from simulator.server import Served, Simulator, run_simulator
from tests.s3_server import S3Server, running_s3
from tests.simulator import kubestash_kit as kit
from tests.simulator.test_dataplane import database, password, query, ready, real_url
from tests.simulator.test_kubestash import condition
from tests.support import eventually

SIZE = "kubestash.simulator.kubedb-dbaas.io/size-bytes"


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with run_simulator(simulator=Simulator(plugins=[install], seed=5)) as served:
        served.simulator.config.update({"time_scale": 0.01, "provisioning_step_seconds": 1})
        yield served


@pytest.fixture
def client(served: Served) -> Client:
    return served.client()


async def s3_storage(client: Client, s3: S3Server, *, key: str = "", bucket: str = "") -> None:
    await client.create(kit.namespace(kit.STORAGE_NS))
    await client.create(kit.s3_secret("remote", key or s3.access_key, s3.secret_key))
    await client.create(
        kit.s3_storage("remote", endpoint=s3.endpoint, bucket=bucket or s3.bucket, prefix="eu")
    )
    await client.create(kit.policy("keep-manual", kit.STORAGE_NS, maxRetentionPeriod="100y"))


async def initialised(client: Client) -> dict[str, Any]:
    """The storage's BackendInitialized condition once it has one."""

    async def found() -> dict[str, Any] | None:
        storage = await client.find("backupstorages", "remote", namespace=kit.STORAGE_NS)
        return condition(storage, "BackendInitialized") or None

    return await eventually(found, timeout=15, message="BackendInitialized set")


async def test_a_postgres_dump_goes_to_the_bucket_and_a_new_database_is_restored_from_it(
    served: Served, client: Client, s3: S3Server
) -> None:
    served.simulator.config.update({"real_databases": 2})
    await client.create(database("Postgres"))
    url = await real_url(client)
    await ready(client, "postgreses")
    secret = await password(client)
    await query(url, secret, "create table notes (n int); insert into notes values (1), (2)")
    await s3_storage(client, s3)
    assert (await initialised(client))["status"] == "True"
    assert s3.objects("eu/metadata.yaml")  # the check wrote its marker under the prefix
    await client.create(kit.policy("db1-retention", maxRetentionPeriod="30d"))
    await client.create(kit.configuration("Postgres", "db1", "remote"))

    session = kit.on_demand("db1", int(time.time()))
    await client.create(session)
    done = await kit.finished(client, "backupsessions", session["metadata"]["name"])
    assert done["status"]["phase"] == "Succeeded", done["status"]
    snapshot = await client.get("snapshots", done["status"]["snapshots"][0]["name"])
    path = snapshot["status"]["components"]["dump"]["path"]
    key = f"eu/{path}/dump.pgdump"
    assert s3.objects(f"eu/{path}/") == {key: int(snapshot["metadata"]["annotations"][SIZE])}
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert body.startswith(b"PGDMP")
    await query(url, secret, "insert into notes values (3)")

    await client.create(database("Postgres", "db2", init={"waitForInitialRestore": True}))
    await client.create(
        kit.restore("db2-restore", "Postgres", "db2", "db1-manual", snapshot["metadata"]["name"])
    )
    restored = await kit.finished(client, "restoresessions", "db2-restore")
    assert restored["status"]["phase"] == "Succeeded", restored["status"]
    url2 = await real_url(client, "db2")
    rows = await query(url2, await password(client, "db2"), "select n from notes order by n")
    assert rows == [(1,), (2,)]

    name = snapshot["metadata"]["name"]
    await client.patch("snapshots", name, {"spec": {"deletionPolicy": "WipeOut"}})
    await client.delete("snapshots", name)

    async def wiped() -> bool:
        return not s3.objects(f"eu/{path}/")

    await eventually(wiped, timeout=10, message="the wiped snapshot's objects gone")


async def failed_backup(client: Client) -> str:
    await client.create(kit.policy("db1-retention", maxRetentionPeriod="30d"))
    await client.create(database("Postgres", "db1"))
    await client.create(kit.configuration("Postgres", "db1", "remote"))
    await client.create(kit.on_demand("db1", 100))
    done = await kit.finished(client, "backupsessions", "db1-backup-manual-100", timeout=15)
    assert done["status"]["phase"] == "Failed"
    return str(done["status"]["error"])


async def test_wrong_keys_make_the_storage_not_ready_and_its_backups_fail_naming_them(
    client: Client, s3: S3Server
) -> None:
    await s3_storage(client, s3, key="AKIAWRONGWRONGWRONG1")

    init = await initialised(client)
    storage = await client.get("backupstorages", "remote", namespace=kit.STORAGE_NS)
    error = await failed_backup(client)

    assert storage["status"]["phase"] == "NotReady"
    assert (init["status"], init["reason"]) == ("False", "BackendInitializationFailed")
    assert "refused the credentials" in init["message"]
    assert "BackendInitializationFailed: cannot initialize the s3 backend" in error
    assert "refused the credentials" in error
    assert s3.objects() == {}


async def test_a_missing_bucket_makes_the_storage_not_ready_saying_so(
    client: Client, s3: S3Server
) -> None:
    await s3_storage(client, s3, bucket="no-such-bucket")

    init = await initialised(client)

    assert (init["status"], init["reason"]) == ("False", "BackendInitializationFailed")
    assert f"bucket no-such-bucket at {s3.endpoint} does not exist" in init["message"]


async def test_an_endpoint_that_never_answers_fails_the_check_at_its_deadline() -> None:
    silent = socket.socket()  # accepts connections (the kernel's backlog), answers nothing
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    storage = kit.s3_storage("remote", endpoint=endpoint)
    storage["metadata"].update(uid="u1", generation=1)
    secret = kit.s3_secret("remote", "a", "b")
    secret["metadata"].update(uid="u2", resourceVersion="1")
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        error = await s3_backend.Probes(timeout=0.5).check(storage, secret)
    finally:
        silent.close()  # resets the waiting connection: the client's thread ends too

    assert error == "cannot initialize the s3 backend: bucket b did not answer within 0.5s"
    assert loop.time() - started < 2
