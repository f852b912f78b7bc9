"""Fault injection and request statistics: an ASGI middleware in front of the API server.

Knobs (see `FAULT_KNOBS`; all live in `Config`, set by CLI flags or `PUT /_sim/config`):
latency, a fraction of requests answered 500, a fraction answered 429 with Retry-After, a
fraction never answered (held until the client gives up or the server stops), optionally
limited to some "verb resource" globs; watch drops are applied by `watchstream`. The admin
API under `/_sim/` is never faulted nor counted.

Statistics count every request by Kubernetes verb and resource (`"list mongodbs"`), and
every injected fault by kind.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fnmatch
import random

from starlette.types import ASGIApp, Receive, Scope, Send

from simulator import errors, paths, wire
from simulator.config import Config, Knob
from simulator.registry import Registry

ADMIN_PREFIX = "/_sim"

FAULT_KNOBS = (
    Knob("latency_ms", 0.0, "milliseconds added before every answer", minimum=0.0),
    Knob(
        "error_rate",
        0.0,
        "fraction of requests answered 500 InternalError",
        minimum=0.0,
        maximum=1.0,
    ),
    Knob(
        "throttle_rate",
        0.0,
        "fraction of requests answered 429 TooManyRequests",
        minimum=0.0,
        maximum=1.0,
    ),
    Knob("throttle_retry_after_seconds", 1, "Retry-After of the injected 429s", minimum=0),
    Knob(
        "hang_rate",
        0.0,
        "fraction of requests never answered (held until the client gives up)",
        minimum=0.0,
        maximum=1.0,
    ),
    Knob(
        "fault_targets",
        (),
        "only fault requests whose 'verb resource' matches one of "
        "these globs (e.g. 'create mongodbopsrequests', '* secrets'); empty: all",
    ),
    Knob(
        "watch_drop_after_events",
        0,
        "drop each watch stream after it sent this many events (0: never)",
        minimum=0,
    ),
    Knob(
        "watch_drop_probability",
        0.0,
        "chance, per event, that a watch stream is dropped instead of sending it",
        minimum=0.0,
        maximum=1.0,
    ),
    Knob(
        "watch_drop_mode",
        "abort",
        "how a dropped watch ends: 'abort' (connection cut "
        "mid-stream) or 'close' (a clean end, like a server timeout)",
        choices=("abort", "close"),
    ),
)


class Stats:
    def __init__(self) -> None:
        self.requests: collections.Counter[str] = collections.Counter()
        self.faults: collections.Counter[str] = collections.Counter()

    def count(self, verb: str, resource: str) -> None:
        self.requests[f"{verb} {resource}"] += 1

    def fault(self, kind: str) -> None:
        self.faults[kind] += 1

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "faults": dict(sorted(self.faults.items())),
            "total": sum(self.requests.values()),
        }

    def reset(self) -> None:
        self.requests.clear()
        self.faults.clear()


class FaultInjector:
    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: Registry,
        config: Config,
        stats: Stats,
        rng: random.Random,
        stopping: asyncio.Event,
    ) -> None:
        self.app = app
        self._registry = registry
        self._config = config
        self._stats = stats
        self._rng = rng
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        verb, resource = paths.classify(
            self._registry, scope["method"], scope["path"], scope.get("query_string", b"").decode()
        )
        self._stats.count(verb, resource)
        if self._targeted(verb, resource) and await self._inject(scope, receive, send):
            return
        await self.app(scope, receive, send)

    def _targeted(self, verb: str, resource: str) -> bool:
        globs = self._config.get_strings("fault_targets")
        return not globs or any(fnmatch.fnmatchcase(f"{verb} {resource}", g) for g in globs)

    async def _inject(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Apply the configured faults; True when the request has been dealt with."""
        latency = self._config.get_float("latency_ms")
        if latency > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), latency / 1000)
        roll = self._rng.random()
        hang = self._config.get_float("hang_rate")
        error = hang + self._config.get_float("error_rate")
        throttle = error + self._config.get_float("throttle_rate")
        if roll < hang:
            self._stats.fault("hang")
            await self._hang(scope, receive, send)
            return True
        if roll < error:
            self._stats.fault("error")
            response = wire.error_response(
                errors.InternalError(
                    "Internal error occurred: injected fault (simulator error_rate)"
                )
            )
        elif roll < throttle:
            self._stats.fault("throttle")
            response = wire.error_response(
                errors.TooManyRequests(
                    "Too many requests, please try again later.",
                    retry_after=self._config.get_int("throttle_retry_after_seconds"),
                )
            )
        else:
            return False
        await response(scope, receive, send)
        return True

    async def _hang(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer nothing until the client hangs up; if the server stops first, 503."""
        async with asyncio.TaskGroup() as group:
            gone = group.create_task(wire.until_disconnect(receive), name="simulator-hang-client")
            stop = group.create_task(self._stopping.wait(), name="simulator-hang-stop")
            await asyncio.wait((gone, stop), return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
            stop.cancel()
        if self._stopping.is_set():
            response = wire.error_response(errors.ServiceUnavailable("the server is stopping"))
            await response(scope, receive, send)
