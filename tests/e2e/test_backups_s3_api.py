"""Backups to an `s3` storage through the API, end to end: the admin adds a storage whose
endpoint is an S3-compatible server the test starts (`tests.s3_server`), a database names
it, a backup taken through the API is an object in that bucket, and a new database restored
from it through the API holds the rows (the simulator writes through boto3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.config.settings import Settings
from tests.e2e.platform import BASE, Platform, create, running
from tests.e2e.test_backups_api import backed_up, rows_of
from tests.e2e.test_data_through_the_api import real_database, succeeded
from tests.s3_server import S3Server, running_s3

pytestmark = pytest.mark.slow


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path) as started:
        yield started


async def test_a_backup_to_an_s3_storage_is_an_object_in_its_bucket_and_restores_the_rows(
    platform: Platform, s3: S3Server
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 2})
    storage = await client.post(
        "/api/v1/backup-storages",
        json={
            "name": "archive",
            "provider": "s3",
            "bucket": s3.bucket,
            "prefix": "eu",
            "region": "us-east-1",
            "endpoint": s3.endpoint,
            "credentials": {"access_key_id": s3.access_key, "secret_access_key": s3.secret_key},
        },
    )
    assert storage.status_code == 201, storage.text
    path = await real_database(client, backup_enabled=False, backup_storage="archive")
    await rows_of(client, path, "create table orders (n int)")
    await rows_of(client, path, "insert into orders values (1), (2)")

    backup = await backed_up(client, path)
    await rows_of(client, path, "insert into orders values (3)")
    created = await create(
        client,
        name="orders-copy",
        restore_from={"database_id": path.rsplit("/", 1)[1], "backup_id": backup["id"]},
    )
    await succeeded(client, created)
    copy = f"{BASE}/{created.json()['id']}"

    dumps = {k: v for k, v in s3.objects("eu/").items() if k.endswith("/dump.pgdump")}
    assert backup["status"] == "succeeded" and backup["storage"] == "archive"
    [uploaded] = dumps.values()
    # The API's size is the Snapshot's `status.size`, which KubeStash rounds ("1.438 KiB").
    assert abs(uploaded - backup["size_bytes"]) <= uploaded / 1000
    assert await rows_of(client, copy, "select n from orders order by n") == [(1,), (2,)]
