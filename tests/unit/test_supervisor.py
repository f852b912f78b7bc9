"""The supervisor restarts what crashes, reports what it runs, and stops in order."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import pytest

from app.config.settings import LogFormat, LogLevel
from app.engine.retry import RetryPolicy
from app.observability.log import configure_logging
from app.runtime.supervisor import ComponentState, Supervisor
from tests.support import eventually

QUICK = RetryPolicy(initial=0.01, factor=2, cap=0.05, max_attempts=1000, jitter=0)


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE, stream=stream)
    yield stream
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)


async def test_a_crashing_component_is_logged_and_restarted(log_text: io.StringIO) -> None:
    runs = 0

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError("boom")
        await stop.wait()

    supervisor = Supervisor(restart_policy=QUICK)
    supervisor.start("flaky", flaky)
    await eventually(lambda: runs == 3 and supervisor.state("flaky") is ComponentState.RUNNING)
    await supervisor.shutdown(grace=1)

    text = log_text.getvalue()
    assert text.count("component_crashed component=flaky") == 2
    assert "RuntimeError: boom" in text
    assert "component_restarting component=flaky attempt=2" in text
    assert supervisor.restarts("flaky") == 2
    assert supervisor.state("flaky") is ComponentState.STOPPED


async def test_an_expected_dependency_error_is_one_line_without_a_traceback(
    log_text: io.StringIO,
) -> None:
    failed = asyncio.Event()

    async def needs_redis(stop: asyncio.Event) -> None:
        if not failed.is_set():
            failed.set()
            raise ConnectionError("redis went away")
        await stop.wait()

    supervisor = Supervisor(restart_policy=QUICK, expected_errors=(ConnectionError,))
    supervisor.start("worker", needs_redis)
    await eventually(lambda: supervisor.restarts("worker") == 1)
    await supervisor.shutdown(grace=1)

    text = log_text.getvalue()
    assert 'component_failed component=worker error="redis went away"' in text
    assert "Traceback" not in text


async def test_a_loop_that_returns_while_running_is_a_bug_and_is_restarted(
    log_text: io.StringIO,
) -> None:
    runs = 0

    async def returns_early(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs > 1:
            await stop.wait()

    supervisor = Supervisor(restart_policy=QUICK)
    supervisor.start("early", returns_early)
    await eventually(lambda: runs == 2)
    await supervisor.shutdown(grace=1)

    assert "component_returned_unexpectedly component=early" in log_text.getvalue()


async def test_shutdown_lets_components_finish_then_cancels_the_stuck_ones(
    log_text: io.StringIO,
) -> None:
    finished_cleanly = False
    cancelled = False
    started: set[str] = set()

    async def polite(stop: asyncio.Event) -> None:
        nonlocal finished_cleanly
        started.add("polite")
        await stop.wait()
        finished_cleanly = True

    async def stuck(stop: asyncio.Event) -> None:
        nonlocal cancelled
        started.add("stuck")
        try:
            await asyncio.Event().wait()  # ignores stop
        except asyncio.CancelledError:
            cancelled = True
            raise

    supervisor = Supervisor(restart_policy=QUICK)
    supervisor.start("polite", polite, group="workers")
    supervisor.start("stuck", stuck, group="workers")
    assert supervisor.count("workers") == 2
    await eventually(lambda: started == {"polite", "stuck"})
    await supervisor.shutdown(grace=0.2)

    assert finished_cleanly and cancelled
    assert supervisor.count("workers", ComponentState.STOPPED) == 2
    assert "component_cancelled_after_grace component=stuck" in log_text.getvalue()


async def test_a_component_name_is_started_once() -> None:
    async def idle(stop: asyncio.Event) -> None:
        await stop.wait()

    supervisor = Supervisor()
    supervisor.start("one", idle)
    with pytest.raises(ValueError):
        supervisor.start("one", idle)
    await supervisor.shutdown(grace=1)
