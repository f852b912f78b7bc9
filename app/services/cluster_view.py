"""One batched look at the cluster: every managed database CR, by database id.

    view = await ClusterView(gateway).snapshot()
    view.databases["db-..."]   the CR (plain dict) carrying that database id label
    view.orphans               managed CRs whose id label is missing or malformed
    view.calls                 how many list requests it took
    view.bindings["db-..."]    its AppBinding (only with `snapshot(bindings=True)`)

One LIST per engine kind with the managed-by label selector, in pages of `chunk` objects
(limit/continue): the cost grows with the number of pages, never with one GET per database.
The status sync and the reconciler both read the cluster this way; the status sync also
asks for the AppBindings (one more paginated LIST per cluster, KubeDB's managed-by label),
matched to the CRs by namespace and name (KubeDB names an AppBinding after its database).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from app.cluster import errors as cluster_errors
from app.cluster.config import LIST_CHUNK
from app.domain import data_plane, engines
from app.domain.databases import Database
from app.domain.manifests import labels
from app.observability.log import get_logger
from app.services.clusters import ClusterFleet, ClusterUnavailable
from app.services.ports import ClusterGateway

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Managed CRs without a usable database id label: (kind, namespace, name).
    orphans: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0
    # Provider ids (None: databases without one) whose cluster could not be listed: their
    # databases are neither missing nor synced this time.
    unlisted: frozenset[str | None] = frozenset()
    bindings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def covers(self, database: Database) -> bool:
        return database.provider_id not in self.unlisted


class _OneCluster:
    """A single gateway as the only cluster (tests, benchmarks, one-cluster installs)."""

    def __init__(self, gateway: ClusterGateway) -> None:
        self._gateway = gateway

    async def clusters(
        self,
    ) -> tuple[list[tuple[frozenset[str | None], ClusterGateway]], frozenset[str]]:
        return [(frozenset({None}), self._gateway)], frozenset()

    async def gateway_for(self, database: Database) -> ClusterGateway:
        return self._gateway


class ClusterView:
    def __init__(self, source: ClusterGateway | ClusterFleet, *, chunk: int = LIST_CHUNK) -> None:
        self._source = source if isinstance(source, ClusterFleet) else _OneCluster(source)
        self._chunk = chunk

    async def snapshot(self, *, bindings: bool = False) -> Snapshot:
        """Every cluster's managed CRs (and their AppBindings with `bindings`). A cluster
        whose listing fails is left out (its providers in `unlisted`, logged); when none
        could be listed the error is raised (a partial view must never make a database look
        vanished)."""
        found: dict[str, dict[str, Any]] = {}
        bound: dict[str, dict[str, Any]] | None = {} if bindings else None
        orphans: list[tuple[str, str, str]] = []
        calls, failure = 0, None
        clusters, unreachable = await self._source.clusters()
        unlisted: set[str | None] = set(unreachable)
        for keys, gateway in clusters:
            try:
                calls += await self._list_one(gateway, found, orphans, bound)
            except cluster_errors.ClusterError as exc:
                log.warning(
                    "cluster_listing_failed", providers=sorted(map(str, keys)), error=str(exc)
                )
                unlisted |= keys
                failure = exc
        if failure is not None and all(keys <= unlisted for keys, _ in clusters):
            raise failure
        return Snapshot(
            databases=found,
            orphans=orphans,
            calls=calls,
            unlisted=frozenset(unlisted),
            bindings=bound or {},
        )

    async def _list_one(
        self,
        gateway: ClusterGateway,
        found: dict[str, dict[str, Any]],
        orphans: list[tuple[str, str, str]],
        bound: dict[str, dict[str, Any]] | None,
    ) -> int:
        calls = 0
        here: dict[tuple[str, str], str] = {}  # (namespace, name) -> database id
        managed = {labels.MANAGED_BY_KEY: labels.MANAGED_BY}
        for engine in engines.Engine:
            resource = engines.spec(engine).database_resource
            items = await gateway.list(
                resource, labels=managed, chunk_size=self._chunk, all_namespaces=True
            )
            calls += max(1, math.ceil(len(items) / self._chunk))
            for item in items:
                metadata = item.get("metadata") or {}
                database_id = (metadata.get("labels") or {}).get(labels.DATABASE_ID_KEY)
                if isinstance(database_id, str) and database_id:
                    found[database_id] = item
                    here[str(metadata.get("namespace")), str(metadata.get("name"))] = database_id
                else:
                    orphans.append(
                        (
                            resource.kind,
                            str(metadata.get("namespace") or ""),
                            str(metadata.get("name") or ""),
                        )
                    )
        if bound is not None:
            calls += await self._list_bindings(gateway, here, bound)
        return calls

    async def _list_bindings(
        self,
        gateway: ClusterGateway,
        here: dict[tuple[str, str], str],
        bound: dict[str, dict[str, Any]],
    ) -> int:
        try:
            items = await gateway.list(
                data_plane.APP_BINDING,
                labels=data_plane.KUBEDB_MANAGED,
                chunk_size=self._chunk,
                all_namespaces=True,
            )
        except (cluster_errors.NotFound, cluster_errors.Forbidden) as exc:
            # Not served, or not granted: every database keeps what it had (the CRs still
            # sync), and the log says why.
            log.warning("app_binding_listing_failed", error=exc.message)
            return 1
        for item in items:
            metadata = item.get("metadata") or {}
            database_id = here.get((str(metadata.get("namespace")), str(metadata.get("name"))))
            if database_id is not None:
                bound[database_id] = item
        return max(1, math.ceil(len(items) / self._chunk))

    async def exists(
        self, database: Database, resource: engines.Resource, name: str, namespace: str
    ) -> bool:
        """One object on the database's cluster, read directly (to confirm what an older
        snapshot says is missing)."""
        try:
            gateway = await self._source.gateway_for(database)
        except ClusterUnavailable:
            return True  # cannot look: never call a database gone on no evidence
        return await gateway.find(resource, name, namespace=namespace) is not None
