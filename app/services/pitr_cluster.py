"""Continuous archiving in a database's cluster: the archiver of its storage and engine, the
database CR's opt-in (or opt-out), and the restore window read from the incremental
Snapshot KubeDB keeps.

Every write is idempotent (create or merge-patch to the wanted spec; an opt-out only when
the CR is opted in), so a re-run step converges. A cluster that does not serve the
archiver kinds answers NotFound; the caller logs it and leaves the database as it is.
Cluster errors pass through as `app.cluster.errors`.
"""

from __future__ import annotations

from app.cluster import errors
from app.domain import engines, pitr
from app.domain.databases import Database
from app.domain.engines import Engine
from app.domain.manifests import JsonObject
from app.domain.manifests import pitr as manifests
from app.services import backup_cluster
from app.services.ports import ClusterGateway


async def converge(
    gateway: ClusterGateway,
    database: Database,
    *,
    storage: str,
    current: JsonObject | None = None,
) -> None:
    """PITR on: the storage's archiver for the engine, and the CR under it. Off: the CR out
    of it (the archiver stays: other databases of the storage may use it). `current`: the CR
    as the caller just read it, which spares reading it again."""
    engine = Engine(database.engine)
    spec = engines.ENGINES[engine]
    target = backup_cluster.target_of(database)
    resource = spec.database_resource
    if database.pitr_enabled and spec.archiver_resource is not None:
        await backup_cluster.apply(
            gateway, spec.archiver_resource, manifests.archiver(storage, engine)
        )
        await gateway.merge_patch(
            resource,
            target.name,
            manifests.opt_in_patch(storage, engine),
            namespace=target.namespace,
        )
        return
    found = current or await gateway.find(resource, target.name, namespace=target.namespace)
    if found is not None and manifests.is_opted_in(found):
        await gateway.merge_patch(
            resource, target.name, manifests.opt_out_patch(), namespace=target.namespace
        )


async def read_window(gateway: ClusterGateway, database: Database) -> pitr.RestoreWindow | None:
    """The database's restore window; None while its archive has none (or the cluster
    serves no Snapshots)."""
    target = backup_cluster.target_of(database)
    try:
        snapshot = await gateway.find(
            backup_cluster.SNAPSHOT,
            manifests.incremental_snapshot_name(target.name),
            namespace=target.namespace,
        )
    except errors.NotFound:
        return None
    return pitr.window_of(snapshot)
