"""Controllers: the background tasks that play the cluster's operators, started and stopped
with the server.

A controller is an async function of a `ControllerContext`. It runs until `ctx.stopping` is
set (then it should return soon) and reads time through `ctx.sleep`, which stretches or
squeezes simulated seconds by the `time_scale` knob (0: as fast as possible). A controller
that raises is logged with its traceback and restarted after a backoff; one that returns
while the server runs is logged as a warning and not restarted (a one-shot job may do so).

Stopping is ordered: set `stopping`, give the tasks `grace` seconds, cancel what is left
and log its names.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from simulator.client import Client
from simulator.config import Config, Knob

log = structlog.get_logger(__name__)

TIME_SCALE = Knob(
    "time_scale",
    1.0,
    "real seconds per simulated second for controllers (0: as fast as possible)",
    minimum=0.0,
)

_RESTART_INITIAL, _RESTART_CAP = 0.1, 5.0


@dataclass(frozen=True)
class ControllerContext:
    name: str
    client: Client
    config: Config
    random: random.Random
    stopping: asyncio.Event

    @property
    def time_scale(self) -> float:
        return self.config.get_float(TIME_SCALE.name)

    async def sleep(self, seconds: float) -> bool:
        """Wait `seconds` of simulated time; True if the server is stopping (return then).
        With `time_scale` 0 this only yields to the event loop."""
        delay = max(0.0, seconds) * self.time_scale
        if delay <= 0:
            await asyncio.sleep(0)
            return self.stopping.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)
        return self.stopping.is_set()


Controller = Callable[[ControllerContext], Awaitable[None]]


class Controllers:
    def __init__(self, make_context: Callable[[str], ControllerContext]) -> None:
        self._make_context = make_context
        self._registered: dict[str, Controller] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False
        self.stopping = asyncio.Event()

    def add(self, name: str, controller: Controller) -> None:
        if name in self._registered:
            raise ValueError(f"controller {name!r} is already registered")
        self._registered[name] = controller
        if self._running:
            self._start(name, controller)

    def _start(self, name: str, controller: Controller) -> None:
        self._tasks[name] = asyncio.get_running_loop().create_task(
            self._supervise(name, controller), name=f"simulator-controller-{name}"
        )

    async def start(self) -> None:
        self.stopping.clear()
        self._running = True
        for name, controller in self._registered.items():
            self._start(name, controller)

    async def _supervise(self, name: str, controller: Controller) -> None:
        delay = _RESTART_INITIAL
        context = self._make_context(name)
        while not self.stopping.is_set():
            try:
                await controller(context)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("controller_failed", controller=name, restart_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                delay = min(delay * 2, _RESTART_CAP)
                continue
            if not self.stopping.is_set():
                log.warning("controller_returned", controller=name)
            return

    async def stop(self, *, grace: float = 5.0) -> None:
        self.stopping.set()
        self._running = False
        tasks = list(self._tasks.values())
        self._tasks.clear()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("controllers_cancelled", controllers=[t.get_name() for t in pending])
            await asyncio.wait(pending, timeout=grace)
