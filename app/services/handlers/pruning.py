"""Pruning finished OpsRequests: KubeDB never removes them (the spec has no TTL, §7.1), so
after each OpsRequest operation ends, the database's finished requests beyond the newest
`keep` (3 by default) are deleted. Requests still Pending or Progressing are never touched,
nor is the one the current operation just finished.

Best effort: a cluster error stops this round and is logged, never failing the operation
that triggered it; the next operation on the database prunes again. Newest means latest
`creationTimestamp`, then the larger `resourceVersion` (the last write) when the
timestamps tie (they have whole seconds only).
"""

from __future__ import annotations

from typing import Any

from app.cluster import errors
from app.domain import status_mapping
from app.domain.engines import Resource
from app.domain.manifests import labels
from app.domain.status_mapping import OpsOutcome
from app.services.ports import ClusterGateway


async def prune_finished(
    gateway: ClusterGateway,
    resource: Resource,
    *,
    namespace: str,
    database_id: str,
    keep: int,
    current: str | None,
    log: Any,
) -> list[str]:
    """Delete all but the newest `keep` finished OpsRequests of a database; their names."""
    selector = {labels.MANAGED_BY_KEY: labels.MANAGED_BY, labels.DATABASE_ID_KEY: database_id}
    deleted: list[str] = []
    try:
        items = await gateway.list(resource, namespace=namespace, labels=selector)
        finished = [
            item
            for item in items
            if status_mapping.observe_ops_request(item).outcome is not OpsOutcome.IN_PROGRESS
        ]
        finished.sort(key=_age, reverse=True)  # newest first
        for item in finished[max(keep, 0) :]:
            name = str(item["metadata"]["name"])
            if name == current:
                continue
            try:
                await gateway.delete(resource, name, namespace=namespace)
            except errors.NotFound:
                continue
            deleted.append(name)
    except errors.ClusterError as exc:
        log.warning("ops_requests_prune_failed", error=exc.message, pruned=len(deleted))
        return deleted
    if deleted:
        log.info("ops_requests_pruned", names=",".join(deleted))
    return deleted


def _age(item: dict[str, Any]) -> tuple[str, int, str]:
    """Sorts oldest first: creation time, then last write, then name."""
    metadata = item.get("metadata") or {}
    version = str(metadata.get("resourceVersion") or "")
    return (
        str(metadata.get("creationTimestamp") or ""),
        int(version) if version.isdigit() else 0,
        str(metadata.get("name") or ""),
    )
