"""The supervisor: owns every long-running component of the process.

A component is a coroutine function `run(stop)` that loops until the shared `stop` event is
set. The supervisor starts each as a named task; a component that crashes is logged with its
traceback and restarted with backoff, one that returns while the process is not stopping is
logged as a bug and restarted too: nothing is ever silently gone.

Shutdown is ordered: set `stop`, give components `grace` seconds to finish what they are
doing, cancel what remains, then log anything that still did not end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from app.engine.retry import RetryPolicy
from app.observability.log import get_logger
from app.runtime import tasks

log = get_logger(__name__)

Component = Callable[[asyncio.Event], Awaitable[None]]

RESTART_POLICY = RetryPolicy(initial=0.5, factor=2.0, cap=30.0, max_attempts=1_000_000)
# A component that ran this long before failing starts its backoff from the beginning.
_HEALTHY_RUN = 60.0


class ComponentState(StrEnum):
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPED = "stopped"


@dataclass
class _Entry:
    name: str
    run: Component
    group: str
    state: ComponentState = ComponentState.RUNNING
    restarts: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self,
        *,
        restart_policy: RetryPolicy = RESTART_POLICY,
        expected_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        """`expected_errors` (a dependency went away) are logged in one line, without the
        traceback that an unexpected crash gets."""
        self.stop_event = asyncio.Event()
        self._policy = restart_policy
        self._expected = expected_errors
        self._entries: dict[str, _Entry] = {}

    def start(self, name: str, run: Component, *, group: str | None = None) -> None:
        if name in self._entries:
            raise ValueError(f"component {name!r} already started")
        entry = _Entry(name=name, run=run, group=group or name)
        entry.task = tasks.spawn(name, self._keep_running(entry))
        self._entries[name] = entry

    def state(self, name: str) -> ComponentState | None:
        entry = self._entries.get(name)
        return None if entry is None else entry.state

    def count(self, group: str, state: ComponentState = ComponentState.RUNNING) -> int:
        return sum(1 for e in self._entries.values() if e.group == group and e.state is state)

    def restarts(self, name: str) -> int:
        return self._entries[name].restarts

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    async def _keep_running(self, entry: _Entry) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        try:
            while not self.stop_event.is_set():
                entry.state = ComponentState.RUNNING
                started = loop.time()
                try:
                    await entry.run(self.stop_event)
                except asyncio.CancelledError:
                    raise
                except self._expected as exc:
                    log.error("component_failed", component=entry.name, error=str(exc))
                except Exception as exc:
                    log.error("component_crashed", component=entry.name, exc_info=exc)
                else:
                    if self.stop_event.is_set():
                        break
                    log.error("component_returned_unexpectedly", component=entry.name)
                failures = 1 if loop.time() - started > _HEALTHY_RUN else failures + 1
                delay = self._policy.delay(failures)
                entry.state = ComponentState.RESTARTING
                entry.restarts += 1
                log.warning(
                    "component_restarting",
                    component=entry.name,
                    attempt=failures,
                    delay=round(delay, 2),
                )
                if await tasks.sleep_or_stop(self.stop_event, delay):
                    break
        finally:
            entry.state = ComponentState.STOPPED

    async def shutdown(self, *, grace: float) -> None:
        self.stop_event.set()
        running = [e.task for e in self._entries.values() if e.task and not e.task.done()]
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                log.warning("component_cancelled_after_grace", component=task.get_name())
                await tasks.cancel_and_wait(task, timeout=1.0)
        stuck = [e.name for e in self._entries.values() if e.task and not e.task.done()]
        if stuck:
            log.error("components_did_not_stop", components=stuck)
        log.info("supervisor_stopped", components=len(self._entries))
