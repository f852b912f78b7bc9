"""The one translation of redis-py's exceptions into the broker's error tree
(`app.broker.errors`, which imports no Redis client so that the layers above may catch it)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis import exceptions as redis_errors

from app.broker.errors import BrokerError, BrokerUnavailable, QueueLost

T = TypeVar("T")


async def guard(awaitable: Awaitable[T]) -> T:
    """Await one Redis call with its failure translated: `BrokerUnavailable` when the server
    cannot be reached, `QueueLost` for `NOGROUP`, `BrokerError` for any other refusal."""
    try:
        return await awaitable
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
        raise BrokerUnavailable(f"redis: {exc}") from exc
    except redis_errors.ResponseError as exc:
        if "NOGROUP" in str(exc):
            raise QueueLost(f"redis: {exc}") from exc
        raise BrokerError(f"redis: {exc}") from exc
    except redis_errors.RedisError as exc:
        raise BrokerError(f"redis: {exc}") from exc
