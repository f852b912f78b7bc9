"""The one way to start a background task: named, referenced, and never failing silently.

`asyncio.create_task` alone keeps only a weak reference and swallows an exception until
someone awaits the task; the system this one replaces lost database creations that way.
`spawn` keeps the task in a registry until it ends and logs a failure the moment it happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from app.observability.log import get_logger

log = get_logger(__name__)
T = TypeVar("T")

_running: set[asyncio.Task[Any]] = set()


def spawn(name: str, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("task_failed", task=task.get_name(), exc_info=exc)


async def cancel_and_wait(task: asyncio.Task[Any], *, timeout: float) -> bool:
    """Cancel `task` and wait up to `timeout` for it to end; False if it did not."""
    if task.done():
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(asyncio.shield(_quiet(task)), timeout)
    return task.done()


async def _quiet(task: asyncio.Task[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def sleep_or_stop(stop: asyncio.Event, delay: float) -> bool:
    """Sleep `delay` seconds or until `stop` is set; True when stopping."""
    if delay <= 0:
        return stop.is_set()
    # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel that lands
    # as its timeout fires, leaving a loop running that its owner has cancelled.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await stop.wait()
    return stop.is_set()
