"""What the database handlers are built with: the store, the way to a database's cluster,
the size table, monitoring settings and timings. Frozen values, made once in `app.main`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.domain.databases import Database
from app.domain.manifests import database_cr
from app.domain.sizes import SizeTable
from app.engine import steps
from app.services.backup_cluster import StorageResolver
from app.services.clusters import ClusterFleet, ClusterUnavailable
from app.services.ports import ClusterGateway
from app.store.protocols import Store

# Finished OpsRequests kept per database (the OpsRequest has no TTL of its own, §7.1).
KEEP_FINISHED_OPS_REQUESTS = 3


@dataclass(frozen=True, slots=True)
class HandlerTiming:
    """Seconds, unless said otherwise."""

    # A new database must reach phase Ready this long after its CR was created; past it the
    # create fails with the cluster's conditions. Capped by the operation's own deadline.
    provision_deadline: float = 1800.0
    # How often a waiting step looks at the cluster again.
    provision_poll: float = 5.0
    # A new database is first looked at this long after its CR was created, then after as
    # long again as it has waited so far, up to `provision_poll` (`Provisioning`).
    provision_first_poll: float = 0.5
    ops_poll: float = 5.0
    halt_poll: float = 3.0
    delete_poll: float = 2.0
    backup_poll: float = 2.0
    # `spec.timeout` of every OpsRequest (a duration such as "30m"); None: KubeDB's default.
    ops_request_timeout: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "provision_deadline",
            "provision_poll",
            "provision_first_poll",
            "ops_poll",
            "halt_poll",
            "delete_poll",
            "backup_poll",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


ClusterFor = Callable[[Database], Awaitable[ClusterGateway]]


def one_cluster(gateway: ClusterGateway) -> ClusterFor:
    """Every database on the same cluster."""

    async def gateway_for(_database: Database) -> ClusterGateway:
        return gateway

    return gateway_for


def fleet_clusters(fleet: ClusterFleet) -> ClusterFor:
    """Each database on its provider's cluster; a provider that cannot be reached any more
    (deleted, its kubeconfig undecryptable) fails the operation with the reason."""

    async def gateway_for(database: Database) -> ClusterGateway:
        try:
            return await fleet.gateway_for(database)
        except ClusterUnavailable as exc:
            raise steps.PermanentError(str(exc)) from exc

    return gateway_for


@dataclass(frozen=True, slots=True)
class HandlerDeps:
    store: Store
    # The gateway of the cluster that holds (or will hold) a database.
    cluster_for: ClusterFor
    sizes: SizeTable
    timing: HandlerTiming = field(default_factory=HandlerTiming)
    monitoring: database_cr.MonitoringConfig = database_cr.DEFAULT_MONITORING
    keep_finished_ops_requests: int = KEEP_FINISHED_OPS_REQUESTS
    # Where backups go; None: the platform has no backup storage (backups fail saying so).
    storages: StorageResolver | None = None

    @classmethod
    def single_cluster(
        cls,
        *,
        store: Store,
        cluster: ClusterGateway,
        sizes: SizeTable,
        timing: HandlerTiming | None = None,
        monitoring: database_cr.MonitoringConfig = database_cr.DEFAULT_MONITORING,
    ) -> HandlerDeps:
        return cls(
            store=store,
            cluster_for=one_cluster(cluster),
            sizes=sizes,
            timing=timing or HandlerTiming(),
            monitoring=monitoring,
        )
