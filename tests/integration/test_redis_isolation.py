"""The suite on a shared Redis: it touches only the keys it made, and leaves none behind.

The Redis at `TEST_LOCAL_REDIS_URL` may be anyone's. A run of the Redis-facing fixtures
(`redis_url`, `redis_client`, `settings`, the app built on them) in a pytest of its own must
leave a key planted there by someone else alone, and delete every key it made.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import redis

from tests.conftest import LOCAL_REDIS_URL, _local_redis_available

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

INNER_TEST = """
import os

import pytest

from app.main import create_app
from app.broker.streams import OperationQueue
from tests.support import eventually


def record(request, redis_keys):
    with open(os.environ["KEYS_OUT"], "a") as out:
        out.write(f"{request.node.name} {redis_keys.prefix}\\n")


@pytest.mark.every_redis
async def test_the_app_and_a_queue_write_their_keys(
    request, redis_client, redis_url, redis_keys, settings
):
    record(request, redis_keys)
    queue = OperationQueue(redis_client, prefix=redis_keys.operations)
    await queue.ensure_group()
    await queue.enqueue("op-1")
    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    async with app.router.lifespan_context(app):
        await eventually(lambda: app.state.runtime.elector.is_leader, timeout=5)
        assert await redis_client.get(redis_keys.leader) is not None
    assert await redis_client.exists(queue.stream)


async def test_an_unmarked_test_runs_on_the_embedded_redis_only(request, redis_client, redis_keys):
    record(request, redis_keys)
    await redis_client.set(f"{redis_keys.prefix}:plain", "1")
"""


def test_the_redis_fixtures_delete_their_own_keys_and_use_the_local_redis_only_when_marked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not _local_redis_available():
        pytest.skip(f"no Redis server at {LOCAL_REDIS_URL}")
    shared = redis.Redis.from_url(LOCAL_REDIS_URL)
    planted = f"someone-else:{uuid.uuid4().hex}"
    shared.set(planted, "theirs", ex=600)
    keys_out = tmp_path / "prefixes"
    monkeypatch.setenv("KEYS_OUT", str(keys_out))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("TEST_LOCAL_REDIS_URL", LOCAL_REDIS_URL)
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    pytester.makepyfile(test_inner=INNER_TEST)
    # A short base: the embedded Redis listens on a unix socket under it (108 bytes at most).
    basetemp = Path(tempfile.mkdtemp(prefix="kd-"))
    try:
        result = pytester.runpytest_subprocess(
            f"--basetemp={basetemp / 't'}",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "-q",
        )

        assert result.ret == 0, result.stdout.str()
        # A test marked `every_redis` runs on the embedded Redis and the local one; any other
        # Redis-facing test on the embedded one only (it costs the suite's time twice).
        ran = dict(line.split() for line in keys_out.read_text().splitlines())
        assert sorted(ran) == [
            "test_an_unmarked_test_runs_on_the_embedded_redis_only[embedded]",
            "test_the_app_and_a_queue_write_their_keys[embedded]",
            "test_the_app_and_a_queue_write_their_keys[local]",
        ]
        prefixes = list(ran.values())
        assert all(re.fullmatch(r"test-[0-9a-f]+-\d+", p) for p in prefixes)
        assert shared.get(planted) == b"theirs"
        left = [k for p in prefixes for k in shared.scan_iter(match=f"{p}:*", count=1000)]
        assert left == []
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
        shared.delete(planted)
        shared.close()


def test_no_test_or_benchmark_flushes_a_redis_database_it_did_not_start() -> None:
    flushing = re.compile(r"\.flush(db|all)\(|\bFLUSH(DB|ALL)\b")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        # A flush of a server the test itself started is allowed, and says so on its line.
        if flushing.search(line) and "flushes: a server this test started" not in line
    ]

    assert found == []
