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
    # Each provider reached by its own kubeconfig or address: name -> None, or why it did
    # not answer (`services.cluster_health`). Any down makes `cluster` "down".
    probe_providers: Callable[[], Awaitable[dict[str, str | None]]] | None = None
    # The last pass of each periodic worker (`reconciliation`, `status_sync`), as JSON.
    passes: Callable[[], dict[str, Any]] | None = None
    _cluster_error: str | None = None
    _provider_errors: dict[str, str] | None = None

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
        """ "up" when the own cluster and every provider's answer, "down" when one does not,
        "not_configured" when there is none to ask."""
        own, providers = await asyncio.gather(self._own_cluster(), self._providers())
        self._cluster_error = own
        self._provider_errors = {name: why for name, why in providers.items() if why}
        if self.ping_cluster is None and not providers:
            return "not_configured"
        return "down" if own is not None or self._provider_errors else "up"

    async def _own_cluster(self) -> str | None:
        return None if self.ping_cluster is None else await self._probe(self.ping_cluster)

    async def _providers(self) -> dict[str, str | None]:
        if self.probe_providers is None:
            return {}
        try:
            return await asyncio.wait_for(self.probe_providers(), PING_TIMEOUT * 2)
        except Exception:  # the store did not answer: `store` reports it, not `cluster`
            return {}

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
            if self._cluster_error is not None:
                body["cluster_error"] = self._cluster_error
            if self._provider_errors:
                body["provider_errors"] = self._provider_errors
        if errors:
            body["errors"] = errors
        return healthy, body
