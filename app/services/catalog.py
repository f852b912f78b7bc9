"""The catalog use cases: versions users may pick and size plans.

Versions are read from the cluster's KubeDB catalog (never on a plain GET of a database: this
is the catalog endpoint) and cached for a short while, since every create validates its
version against them. The allow list comes from configuration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.cluster import errors
from app.domain import catalog, engines
from app.domain.sizes import SizeTable
from app.services.errors import ServiceError
from app.services.ports import ClusterGateway

CACHE_SECONDS = 30.0


class CatalogUnavailable(ServiceError):
    """No cluster is configured, or it did not answer."""

    status = 503
    code = "cluster_unavailable"


@dataclass(frozen=True, slots=True)
class OfferedVersion:
    version: str
    deprecated: bool
    default: bool


class CatalogService:
    def __init__(
        self,
        cluster: ClusterGateway | None,
        sizes: SizeTable,
        *,
        allowed: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._cluster = cluster
        self.sizes = sizes
        self._allowed = allowed
        self._cache: dict[engines.Engine, tuple[float, list[catalog.CatalogVersion]]] = {}
        self._lock = asyncio.Lock()

    async def versions(self, engine: engines.Engine) -> list[catalog.CatalogVersion]:
        """Every catalog object of the engine, deprecated included (cached briefly)."""
        cached = self._cache.get(engine)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        if self._cluster is None:
            raise CatalogUnavailable("no cluster is configured")
        async with self._lock:
            try:
                objects = await self._cluster.list(engines.spec(engine).catalog_resource)
            except errors.ClusterError as exc:
                raise CatalogUnavailable(f"the cluster catalog could not be read: {exc}") from exc
        versions = [catalog.from_object(o) for o in objects]
        self._cache[engine] = (time.monotonic(), versions)
        return versions

    def _allow_list(self, engine: engines.Engine) -> Sequence[str] | None:
        if self._allowed is None:
            return None
        return self._allowed.get(engine.value, ())

    async def offered(self, engine: engines.Engine) -> list[OfferedVersion]:
        chosen = catalog.offered(await self.versions(engine), self._allow_list(engine))
        return [
            OfferedVersion(version=v.name, deprecated=v.deprecated, default=i == 0)
            for i, v in enumerate(chosen)
        ]

    async def is_offered(self, engine: engines.Engine, version: str) -> bool:
        return any(v.version == version for v in await self.offered(engine))

    async def upgrade_targets(
        self, engine: engines.Engine, current: str, *, topology: str | None = None
    ) -> list[str]:
        versions = await self.versions(engine)
        now = next((v for v in versions if v.name == current), None)
        if now is None:
            return []
        allowed = {v.name for v in catalog.offered(versions, self._allow_list(engine))}
        return [
            v.name
            for v in catalog.upgrade_targets(now, versions, topology=topology)
            if v.name in allowed
        ]
