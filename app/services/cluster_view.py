"""One batched look at the cluster: every managed database CR, by database id.

    view = await ClusterView(gateway).snapshot()
    view.databases["db-..."]   the CR (plain dict) carrying that database id label
    view.orphans               managed CRs whose id label is missing or malformed
    view.calls                 how many list requests it took

One LIST per engine kind with the managed-by label selector, in pages of `chunk` objects
(limit/continue): the cost grows with the number of pages, never with one GET per database.
The status sync and the reconciler both read the cluster this way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from app.cluster.gateway import LIST_CHUNK, KubeGateway
from app.domain import engines
from app.domain.manifests import labels


@dataclass(frozen=True, slots=True)
class Snapshot:
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Managed CRs without a usable database id label: (kind, namespace, name).
    orphans: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0


class ClusterView:
    def __init__(self, gateway: KubeGateway, *, chunk: int = LIST_CHUNK) -> None:
        self._gateway = gateway
        self._chunk = chunk

    async def snapshot(self) -> Snapshot:
        """Raises the gateway's `ClusterError` when a listing fails (a partial view would
        make every database it missed look vanished)."""
        found: dict[str, dict[str, Any]] = {}
        orphans: list[tuple[str, str, str]] = []
        calls = 0
        managed = {labels.MANAGED_BY_KEY: labels.MANAGED_BY}
        for engine in engines.Engine:
            resource = engines.spec(engine).database_resource
            items = await self._gateway.list(resource, labels=managed, chunk_size=self._chunk,
                                             all_namespaces=True)
            calls += max(1, math.ceil(len(items) / self._chunk))
            for item in items:
                metadata = item.get("metadata") or {}
                database_id = (metadata.get("labels") or {}).get(labels.DATABASE_ID_KEY)
                if isinstance(database_id, str) and database_id:
                    found[database_id] = item
                else:
                    orphans.append((resource.kind, str(metadata.get("namespace") or ""),
                                    str(metadata.get("name") or "")))
        return Snapshot(databases=found, orphans=orphans, calls=calls)

    async def exists(self, resource: engines.Resource, name: str, namespace: str) -> bool:
        """One object, read directly (to confirm what an older snapshot says is missing)."""
        return await self._gateway.find(resource, name, namespace=namespace) is not None
