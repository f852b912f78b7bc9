"""Test helpers: waiting on conditions with a deadline instead of sleeping, free ports, and
the Redis keys of the test that runs now.

Redis keys: every key a test makes lives under `test-<run id>-<test number>:` (the run id is
random per pytest process), so that tests sharing a Redis database with anyone else (the
local server at 127.0.0.1:6379) touch only their own keys, and `delete_keys` removes exactly
those afterwards. `tests/conftest.py` sets the current test's keys before each test; helpers
that need a key of their own derive it from `redis_keys()`. Tests run one at a time in one
process, so one module-level value is enough.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis

from app.broker.keys import RedisKeys

T = TypeVar("T")

RUN_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
_numbers = itertools.count(1)
_current = RedisKeys(f"{RUN_PREFIX}-0")


def next_redis_keys() -> RedisKeys:
    """Start a new test's key space (the conftest calls it before each test)."""
    global _current
    _current = RedisKeys(f"{RUN_PREFIX}-{next(_numbers)}")
    return _current


def redis_keys() -> RedisKeys:
    """The keys of the test running now."""
    return _current


def scoped_key(name: str) -> str:
    """A key of the running test's own: `<prefix>:<name>:<random>`."""
    return f"{_current.prefix}:{name}:{uuid.uuid4().hex[:8]}"


def delete_keys(url: str, pattern: str) -> int:
    """SCAN MATCH `pattern` and UNLINK what it finds; nothing else is touched."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        found = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                found += client.unlink(*batch)
                batch.clear()
        if batch:
            found += client.unlink(*batch)
        return found
    finally:
        client.close()


async def count_keys(client: aioredis.Redis, pattern: str) -> int:
    return len([key async for key in client.scan_iter(match=pattern, count=1000)])


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> T:
    """Call `check` until it returns a truthy value (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    last_error: AssertionError | None = None
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            last_error = None
        except AssertionError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f": {last_error}" if last_error else ""
            raise AssertionError(f"{message} not met within {timeout}s{detail}")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def simulator_access(kubeconfig: dict[str, Any]) -> dict[str, Any]:
    """httpx keyword arguments that reach a simulator as its kubeconfig's user: the bearer
    token and, over HTTPS, the kubeconfig's certificate authority."""
    cluster = kubeconfig["clusters"][0]["cluster"]
    token = kubeconfig["users"][0]["user"]["token"]
    access: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}}
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        access["verify"] = ssl.create_default_context(cadata=ca)
    return access
