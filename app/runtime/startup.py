"""Connecting to dependencies at start: retried with backoff, every attempt logged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.engine.retry import RetryPolicy
from app.observability.log import get_logger

log = get_logger(__name__)
T = TypeVar("T")

CONNECT_POLICY = RetryPolicy(initial=0.5, factor=2.0, cap=10.0, max_attempts=10, jitter=0.2)


class DependencyUnavailable(Exception):
    pass


async def connect_with_retry(
    what: str, connect: Callable[[], Awaitable[T]], *, policy: RetryPolicy = CONNECT_POLICY
) -> T:
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await connect()
        except Exception as exc:
            if policy.exhausted(attempt):
                log.error(
                    "dependency_unavailable",
                    dependency=what,
                    attempt=f"{attempt}/{policy.max_attempts}",
                    error=str(exc),
                )
                raise DependencyUnavailable(f"{what}: {exc}") from exc
            delay = policy.delay(attempt)
            log.warning(
                "dependency_connect_failed",
                dependency=what,
                attempt=f"{attempt}/{policy.max_attempts}",
                retry_in=round(delay, 2),
                error=str(exc),
            )
            await asyncio.sleep(delay)
        else:
            log.info("dependency_connected", dependency=what, attempt=attempt)
            return result
