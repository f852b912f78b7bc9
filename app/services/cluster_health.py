"""Which registered providers' clusters answer, for `/health`.

The control plane's own cluster (CLUSTER_KUBECONFIG) is pinged by `HealthService` itself;
this adds every provider reached by its own kubeconfig or address, each distinct cluster
once, pinged concurrently. Without it `/health` said `cluster: up` while a provider
registered by address pointed at a port nobody served any more.
"""

from __future__ import annotations

import asyncio

from app.services.clusters import ClusterFleet
from app.services.ports import ClusterGateway
from app.store.protocols import Store


class ProviderProbe:
    def __init__(self, store: Store, fleet: ClusterFleet, *, timeout: float) -> None:
        self._store = store
        self._fleet = fleet
        self._timeout = timeout

    async def __call__(self) -> dict[str, str | None]:
        """Provider name -> None when its cluster answered, else why not."""
        names = {p.id: p.name for p in await self._store.providers.all()}
        groups, unreachable = await self._fleet.clusters()
        own = [(ids, g) for ids, g in groups if g is not self._fleet.default]
        answers = await asyncio.gather(*(self._ping(gateway) for _, gateway in own))
        report: dict[str, str | None] = {}
        for (ids, _), answer in zip(own, answers, strict=True):
            for provider_id in sorted(i for i in ids if i is not None):
                report[names.get(provider_id, provider_id)] = answer
        for provider_id in sorted(unreachable):
            report[names.get(provider_id, provider_id)] = "its connection cannot be used"
        return report

    async def _ping(self, gateway: ClusterGateway) -> str | None:
        try:
            await asyncio.wait_for(gateway.ping(), self._timeout)
        except TimeoutError:
            return f"no answer within {self._timeout:g}s"
        except Exception as exc:  # reported in /health, never raised out of it
            return f"{type(exc).__name__}: {exc}"
        return None
