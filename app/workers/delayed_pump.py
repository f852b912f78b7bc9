"""The delayed-wake-up pump: moves wake-ups whose time has come from the queue's delayed set
to its stream, where the operation workers take them. One per process."""

from __future__ import annotations

import asyncio

from app.broker.streams import OperationQueue
from app.runtime import tasks


class DelayedPump:
    """Moves due wake-ups from the delayed set to the stream; one per process."""

    def __init__(self, queue: OperationQueue, *, max_sleep: float = 0.25) -> None:
        self._queue = queue
        self._max_sleep = max_sleep

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            moved, next_due = await self._queue.promote_due()
            if moved:
                continue
            sleep = self._max_sleep if next_due is None else min(self._max_sleep, next_due)
            await tasks.sleep_or_stop(stop, max(sleep, 0.005))
