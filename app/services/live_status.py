"""A database's observed state read from its cluster now (`GET .../status?realtime=true`).

    live = await read_live(store, gateway, database, provider="local", timeout=5)
    live.database   the record as the cluster says it is now (never written)
    live.read_at    when the cluster was read; None: the CR is not there, the stored state

One GET of the database's KubeDB CR and one of its AppBinding (`app_bindings.read`, the
same policy as the other readers), through the provider's cluster gateway, both bounded by
`timeout`. What they say is mapped exactly as the status sync maps it
(`status_mapping.observe_database`, then `domain.sync.sync_fields`), and applied to a copy of
the record: nothing is written. A GET has no side effects; the status sync owns the writes
(its compare-and-set and Events) and catches up within its interval.

A database not on a cluster (not placed yet, deleted) or whose CR is absent (being created
or removed) has nothing live to read: the stored state is the answer (`read_at` None).
A cluster that does not answer in `timeout`, or answers with an error, is
`Unavailable("cluster_unavailable")` naming the provider: a 503, never a 500.
Must not: write the store or the cluster.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from app.cluster import errors as cluster_errors
from app.domain import clock, engines, status_mapping, sync
from app.domain.databases import Database, DatabaseStatus
from app.services import app_bindings
from app.services.database_errors import Unavailable
from app.services.ports import ClusterGateway
from app.store.protocols import Store


@dataclass(frozen=True, slots=True)
class LiveStatus:
    database: Database
    read_at: datetime | None


async def read_live(
    store: Store,
    gateway: ClusterGateway,
    database: Database,
    *,
    provider: str,
    timeout: float,
) -> LiveStatus:
    if database.namespace is None or database.status is DatabaseStatus.DELETED:
        return LiveStatus(database, None)
    name = database.kubedb_resource_name or database.name
    resource = engines.spec(engines.parse_engine(database.engine)).database_resource
    try:
        async with asyncio.timeout(timeout):
            found = await gateway.find(resource, name, namespace=database.namespace)
            binding = (
                await app_bindings.read(gateway, database.namespace, name)
                if found is not None
                else None
            )
    except TimeoutError as exc:
        raise _unavailable(provider, f"did not answer within {timeout:g} s") from exc
    except cluster_errors.ClusterError as exc:
        raise _unavailable(provider, f"did not answer: {exc.message}") from exc
    if found is None:
        return LiveStatus(database, None)
    read_at = clock.utcnow()
    active = await store.operations.get_active(database.id) is not None
    changes = sync.sync_fields(
        database,
        status_mapping.observe_database(found),
        operation_active=active,
        binding=binding,
    )
    return LiveStatus(database.model_copy(update=changes), read_at)


def _unavailable(provider: str, what: str) -> Unavailable:
    return Unavailable(
        f"the cluster of provider {provider} {what}",
        code="cluster_unavailable",
        details={"provider": provider},
    )
