"""Backup objects in a database's cluster: what the backup operations and the create and
update steps call to make KubeStash's objects match a database's backup policy.

Every function is idempotent (create, or merge-patch what is there to the wanted spec),
so a re-run step converges instead of failing on what an earlier attempt made. Cluster
errors pass through as `app.cluster.errors` (the handlers translate them). A storage is
resolved by `StorageResolver` (the backup storage service); when the platform has none
configured, backups cannot run and the caller says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.cluster import errors
from app.domain import backups, clock
from app.domain.backups import BackupStatus
from app.domain.databases import Database
from app.domain.engines import Engine, Resource
from app.domain.manifests import JsonObject
from app.domain.manifests import backups as manifests
from app.services.backup_storages import (
    BackupStorageNotFound,
    BackupStorageService,
    BackupStorageUnusable,
)
from app.services.ports import ClusterGateway

BACKUP_STORAGE = Resource(manifests.STORAGE_API_VERSION, "BackupStorage", "backupstorages")
RETENTION_POLICY = Resource(manifests.STORAGE_API_VERSION, "RetentionPolicy", "retentionpolicies")
REPOSITORY = Resource(manifests.STORAGE_API_VERSION, "Repository", "repositories")
SNAPSHOT = Resource(manifests.STORAGE_API_VERSION, "Snapshot", "snapshots")
BACKUP_CONFIGURATION = Resource(
    manifests.CORE_API_VERSION, "BackupConfiguration", "backupconfigurations"
)
BACKUP_SESSION = Resource(manifests.CORE_API_VERSION, "BackupSession", "backupsessions")
RESTORE_SESSION = Resource(manifests.CORE_API_VERSION, "RestoreSession", "restoresessions")


@dataclass(frozen=True, slots=True)
class ResolvedStorage:
    target: manifests.StorageTarget
    credentials: Mapping[str, str]


class StorageResolver(Protocol):
    async def resolve_storage(self, name: str | None) -> ResolvedStorage:
        """The storage `name` (None: the default) with its credentials decrypted; raises
        the service's not-found error naming it."""
        ...


class FromStorages:
    """The backup storage service as a `StorageResolver`: its records as KubeStash targets,
    its not-found and unusable errors as `LookupError`."""

    def __init__(self, service: BackupStorageService) -> None:
        self._service = service

    async def resolve_storage(self, name: str | None) -> ResolvedStorage:
        try:
            found = await self._service.resolve(name)
        except (BackupStorageNotFound, BackupStorageUnusable) as exc:
            raise LookupError(str(exc)) from exc
        storage = found.storage
        return ResolvedStorage(
            target=manifests.StorageTarget(
                name=storage.name,
                provider=storage.provider.value,
                bucket=storage.bucket,
                prefix=storage.prefix or None,
                region=storage.region,
                endpoint=storage.endpoint,
                path=storage.path,
                default=storage.is_default,
            ),
            credentials=found.credentials,
        )


def target_of(database: Database) -> manifests.BackupTarget:
    if database.namespace is None:
        raise ValueError(f"database {database.id} has no namespace yet")
    return manifests.BackupTarget(
        database_id=database.id,
        name=database.kubedb_resource_name or database.name,
        namespace=database.namespace,
        engine=Engine(database.engine),
        domain=database.domain,
        project=database.project,
    )


async def apply(gateway: ClusterGateway, resource: Resource, manifest: JsonObject) -> None:
    """Create `manifest`, or bring the one there to its labels and spec."""
    metadata = manifest["metadata"]
    try:
        await gateway.create(resource, manifest)
    except errors.AlreadyExists:
        patch: dict[str, Any] = {"metadata": {"labels": metadata.get("labels", {})}}
        if "spec" in manifest:
            patch["spec"] = manifest["spec"]
        await gateway.merge_patch(
            resource, metadata["name"], patch, namespace=metadata.get("namespace")
        )


# The objects `ensure_storage` writes are the same for every database of a storage: once
# written to a cluster they are not written again within the gateway's `recent` TTL
# (CLUSTER_RECENT_WRITES_TTL; they were six of a create's fourteen cluster calls, a POST
# answered 409 then a PATCH for each, a fifth of its CPU: issue 19). Keyed by a digest of
# what was written, so a changed storage (new credentials, a new default) is written at
# once; one deleted behind the platform's back is back within the TTL.
async def ensure_storage(gateway: ClusterGateway, storage: ResolvedStorage) -> None:
    """The platform namespace, the storage's Secret and BackupStorage, and the retention
    policy of manual backups (skipped when this gateway wrote the same within its TTL)."""
    secret = manifests.storage_secret(storage.target, storage.credentials)
    backup_storage = manifests.backup_storage(storage.target)
    policy = manifests.keep_manual_policy()
    digest = hashlib.sha256(
        json.dumps([secret, backup_storage, policy], sort_keys=True).encode()
    ).hexdigest()
    key = f"backup-storage/{digest}"
    if gateway.recent.fresh(key):
        return
    await gateway.ensure_namespace(manifests.PLATFORM_NAMESPACE)
    if secret is not None:
        metadata = secret["metadata"]
        await gateway.write_secret(
            metadata["namespace"], metadata["name"], secret["stringData"], labels=metadata["labels"]
        )
    await apply(gateway, BACKUP_STORAGE, backup_storage)
    await apply(gateway, RETENTION_POLICY, policy)
    gateway.recent.remember(key)


async def converge_policy(
    gateway: ClusterGateway,
    database: Database,
    storage: ResolvedStorage,
    *,
    paused: bool = False,
) -> None:
    """The database's RetentionPolicy and BackupConfiguration as its policy says."""
    target = target_of(database)
    await ensure_storage(gateway, storage)
    await apply(
        gateway,
        RETENTION_POLICY,
        manifests.retention_policy(
            target,
            period=backups.retention_period(database.backup_retention_days),
            keep_last=database.backup_retention_count,
            failed_kept=backups.FAILED_KEPT,
        ),
    )
    await apply(
        gateway,
        BACKUP_CONFIGURATION,
        manifests.backup_configuration(
            target,
            storage=storage.target.name,
            schedule=backups.cron_for(database.backup_schedule, database_id=database.id),
            enabled=database.backup_enabled,
            paused=paused,
        ),
    )


async def delete_snapshot(gateway: ClusterGateway, namespace: str, name: str) -> None:
    """Delete a Snapshot and its data: KubeStash's `Delete` policy keeps a Snapshot's files
    in the storage, so it is set to `WipeOut` first. Gone already is done."""
    try:
        await gateway.merge_patch(
            SNAPSHOT, name, {"spec": {"deletionPolicy": "WipeOut"}}, namespace=namespace
        )
        await gateway.delete(SNAPSHOT, name, namespace=namespace)
    except errors.NotFound:
        return


async def remove_policy(gateway: ClusterGateway, database: Database) -> None:
    """A deleted database's BackupConfiguration and RetentionPolicy; its repositories are
    `Retain`, so its backups stay (and the backup sync applies their retention)."""
    target = target_of(database)
    for resource, name in (
        (BACKUP_CONFIGURATION, manifests.configuration_name(target.name)),
        (RETENTION_POLICY, manifests.retention_name(target.name)),
    ):
        try:
            await gateway.delete(resource, name, namespace=target.namespace)
        except errors.NotFound:
            continue  # gone, or no KubeStash in this cluster


async def set_paused(gateway: ClusterGateway, database: Database, *, paused: bool) -> bool:
    """Pause or resume the database's BackupConfiguration; False when it has none."""
    target = target_of(database)
    try:
        await gateway.merge_patch(
            BACKUP_CONFIGURATION,
            manifests.configuration_name(target.name),
            {"spec": {"paused": paused}},
            namespace=target.namespace,
        )
    except errors.NotFound:
        return False
    return True


def condition_messages(obj: Mapping[str, Any]) -> str:
    """What a failed session's status says: its conditions' reasons and messages, and
    its components' errors, in one line."""
    status = obj.get("status") or {}
    parts: list[str] = [str(status["error"])] if status.get("error") else []
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" or condition.get("type", "").endswith("Failed"):
            text = condition.get("message") or condition.get("reason")
            if text:
                parts.append(str(text))
    for name, component in (status.get("components") or {}).items():
        if isinstance(component, Mapping) and component.get("error"):
            parts.append(f"{name}: {component['error']}")
    for snapshot in status.get("snapshots") or []:
        if isinstance(snapshot, Mapping) and snapshot.get("phase") == "Failed":
            parts.append(f"snapshot {snapshot.get('name')} failed")
    return "; ".join(dict.fromkeys(parts)) or f"phase {status.get('phase')}"


def snapshot_fields(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A backup's status, size and times as its Snapshot tells them."""
    status = snapshot.get("status") or {}
    outcome = backups.status_of_snapshot(status.get("phase"))
    fields: dict[str, Any] = {"status": outcome}
    size = backups.size_bytes(status.get("size"))
    if size is not None:
        fields["size_bytes"] = size
    created = clock.parse_or_none((snapshot.get("metadata") or {}).get("creationTimestamp"))
    if created is not None:
        fields["started_at"] = created
    if outcome.is_terminal:
        fields["completed_at"] = clock.parse_or_none(status.get("snapshotTime")) or clock.utcnow()
    if outcome is BackupStatus.FAILED:
        fields["error"] = condition_messages(snapshot)
    return fields
