"""The process's one async Redis client."""

from __future__ import annotations

import redis.asyncio as aioredis


def make_client(url: str, *, timeout: float = 5.0) -> aioredis.Redis:
    """A client for `url` (redis://, rediss:// or unix://) that answers `str`, not `bytes`.

    Connections are made lazily; call `PING` to know the server is there.
    """
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
