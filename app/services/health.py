"""Health: what `/health`, `/health/live` and `/health/ready` report, and how it is measured.

Dependencies are pinged with a short timeout, concurrently, so a hung store cannot hang the
probe. The process is `healthy` when the store and Redis answer and every configured
operation worker runs; otherwise `degraded` (the API answers 503, so a load balancer or
Kubernetes takes the instance out of rotation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.store.protocols import Store

PING_TIMEOUT = 2.0


class LeaderView(Protocol):
    @property
    def is_leader(self) -> bool: ...

    @property
    def epoch(self) -> int | None: ...

    async def current_leader(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class WorkerCounts:
    configured: int
    live: int


@dataclass
class HealthService:
    instance_id: str
    store: Store
    ping_redis: Callable[[], Awaitable[Any]]
    leader: LeaderView
    workers: Callable[[], WorkerCounts]
    components: Callable[[], dict[str, str]]
    # The cluster is reported but does not make the process degraded: operations wait and
    # retry while it is away, and the API keeps serving.
    ping_cluster: Callable[[], Awaitable[Any]] | None = None
    # The last pass of each periodic worker (`reconciliation`, `status_sync`), as JSON.
    passes: Callable[[], dict[str, Any]] | None = None
    _cluster_error: str | None = None

    async def _probe(self, ping: Callable[[], Awaitable[Any]]) -> str | None:
        """None when the dependency answered, else why not."""
        try:
            await asyncio.wait_for(ping(), PING_TIMEOUT)
        except TimeoutError:
            return f"no answer within {PING_TIMEOUT:g}s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _cluster_state(self) -> str:
        if self.ping_cluster is None:
            return "not_configured"
        self._cluster_error = await self._probe(self.ping_cluster)
        return "up" if self._cluster_error is None else "down"

    async def dependencies(self) -> dict[str, str | None]:
        store, redis = await asyncio.gather(
            self._probe(self.store.ping), self._probe(self.ping_redis)
        )
        return {"store": store, "redis": redis}

    async def report(self) -> tuple[bool, dict[str, Any]]:
        problems, cluster = await asyncio.gather(self.dependencies(), self._cluster_state())
        counts = self.workers()
        workers_ok = counts.live == counts.configured
        healthy = workers_ok and not any(problems.values())
        leader_id: str | None = None
        if problems["redis"] is None:
            try:
                leader_id = await asyncio.wait_for(self.leader.current_leader(), PING_TIMEOUT)
            except Exception:  # reported as unknown; redis health is already shown above
                leader_id = None
        body: dict[str, Any] = {
            "status": "healthy" if healthy else "degraded",
            "instance_id": self.instance_id,
            "components": {
                "api": "running",
                "workers": "running" if workers_ok else "degraded",
                "store": "up" if problems["store"] is None else "down",
                "redis": "up" if problems["redis"] is None else "down",
                "cluster": cluster,
                **self.components(),
            },
            "workers": {"configured": counts.configured, "live": counts.live},
            "leader": {
                "instance_id": leader_id,
                "is_leader": self.leader.is_leader,
                "epoch": self.leader.epoch,
            },
            "store": {"backend": self.store.backend},
        }
        if self.passes is not None:
            body["passes"] = self.passes()
        errors = {name: why for name, why in problems.items() if why}
        if cluster == "down":
            body["cluster_error"] = self._cluster_error
        if errors:
            body["errors"] = errors
        return healthy, body
