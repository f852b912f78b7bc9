"""The store adapters every contract test runs against.

- sqlite: the real adapter on a real file;
- mongomock: the Mongo adapter over mongomock-motor (an in-memory async stand-in);
- nx27017: the Mongo adapter over `nx-27017`, a MongoDB wire-protocol server backed by
  SQLite, started on a free loopback port;
- mongodb: a real MongoDB, only when MONGODB_TEST_URL is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from app.store.mongo import MongoStore
from app.store.protocols import Store
from app.store.sqlite import SQLiteStore
from tests.support import free_port, wait_for_port

ADAPTERS = ["sqlite", "mongomock", "nx27017", "mongodb"]


@pytest.fixture(scope="session")
def nx27017_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("nx27017")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from nx_27017 import main; sys.exit(main())",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            # Its own pid and log files: the defaults in /tmp make a second run on the machine
            # refuse to start ("already running").
            "--pid-file",
            str(data_dir / "nx.pid"),
            "--log-file",
            str(data_dir / "nx.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Store]:  # type: ignore[no-untyped-def]
    kind = request.param
    opened: Store
    if kind == "sqlite":
        opened = await SQLiteStore.open(tmp_path / "store.sqlite3")
    elif kind == "mongomock":
        from mongomock_motor import AsyncMongoMockClient

        opened = await MongoStore.open(AsyncMongoMockClient()["contract"])
    elif kind == "nx27017":
        url = request.getfixturevalue("nx27017_url")
        from app.store import mongo

        opened = await mongo.connect(url, f"contract_{uuid.uuid4().hex[:12]}")
    else:
        url = os.environ.get("MONGODB_TEST_URL")
        if not url:
            pytest.skip("MONGODB_TEST_URL is not set")
        from app.store import mongo

        opened = await mongo.connect(url, f"contract_{uuid.uuid4().hex[:12]}")
    try:
        yield opened
    finally:
        await opened.close()
