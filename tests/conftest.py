"""Fixtures shared by every suite: settings for tests, Redis servers, logging, task hygiene.

Redis-facing tests take the `redis_url` fixture and run against the embedded server the
suite starts. Those marked `every_redis` (queue semantics, leader election, the rate-limit and
idempotency scripts: tests whose point is a real, separate server) run a second time against
the Redis at `TEST_LOCAL_REDIS_URL` (default redis://127.0.0.1:6379/13; skipped where no
server answers, so `make test` passes on a bare machine). That server may be shared: a
test's keys all live under its own prefix (`redis_keys`, from `tests.support`; the app's keys
through `REDIS_KEY_PREFIX` in `settings`), and after the test exactly the keys under that
prefix are deleted (SCAN MATCH + UNLINK). No test flushes a Redis server it did not start.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from app.broker.client import make_client
from app.broker.embedded import EmbeddedRedis
from app.broker.keys import RedisKeys
from app.config.settings import LogFormat, LogLevel, Settings
from app.observability.log import configure_logging
from tests import support

LOCAL_REDIS_URL = os.environ.get("TEST_LOCAL_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("embedded-redis"))
    url = asyncio.run(server.start())
    yield url
    asyncio.run(server.stop())


def _local_redis_available() -> bool:
    try:
        client = redis.Redis.from_url(LOCAL_REDIS_URL, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


@pytest.fixture(autouse=True)
def redis_keys() -> RedisKeys:
    """This test's Redis key space: `test-<run id>-<n>:*` (see tests/support.py)."""
    return support.next_redis_keys()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "every_redis: run on the local Redis at TEST_LOCAL_REDIS_URL as well as on "
        "the embedded one (for tests whose point is a real, separate Redis server)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`redis_url` is the embedded Redis; for a test marked `every_redis`, the local one too."""
    if "redis_url" in metafunc.fixturenames:
        servers = ["embedded", "local"]
        if metafunc.definition.get_closest_marker("every_redis") is None:
            servers = ["embedded"]
        metafunc.parametrize("redis_url", servers, indirect=True)


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, redis_keys: RedisKeys) -> Iterator[str]:
    if request.param == "embedded":
        url = str(request.getfixturevalue("embedded_redis_url"))
    elif not _local_redis_available():
        pytest.skip(f"no Redis server at {LOCAL_REDIS_URL}")
    else:
        url = LOCAL_REDIS_URL
    yield url
    support.delete_keys(url, redis_keys.pattern)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = make_client(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def settings(tmp_path: Path, redis_keys: RedisKeys) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "var",
        redis_key_prefix=redis_keys.prefix,
        instance_id="test-instance",
        leader_lease_ttl=1.0,
        leader_retry_interval=0.2,
        operation_visibility_timeout=1.0,
        operation_step_timeout=0.5,
        num_operation_workers=3,
        # An idle worker's blocking read: every app a test starts waits for it when it stops.
        operation_read_block=0.1,
        # The suites poll as fast as they can with one key; tests/e2e/test_rate_limits.py
        # turns limiting on (and tests/e2e/test_audit.py the limit per address).
        rate_limit_per_minute=0,
        anonymous_rate_limit_per_minute=0,
    )


@pytest.fixture(autouse=True)
async def _no_leaked_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    for task in leaked:
        task.cancel()
    assert not leaked, f"test leaked tasks: {[t.get_name() for t in leaked]}"
