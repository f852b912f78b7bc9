"""What a create does about backups: a new database that starts from a backup (restore,
clone) or a point in time waits for its initial restore, and every new database gets its
backup policy.

    manifest   `spec.init.waitForInitialRestore: true` on the database CR, so KubeDB keeps
               it Provisioning until the data is in (reference/kubestash.md §2); for a
               point in time `spec.init.archiver` instead (the source's archive and the
               time: KubeDB recovers it itself, no RestoreSession)
    start      the RestoreSession `<db>-restore` loading the source Snapshot into it
    failure    the RestoreSession's reason once it failed, or for a point in time the CR's
               `DataRestored` False message (the create fails with it)
    configure  the storage, the database's BackupConfiguration and, with `pitr_enabled`,
               its archiver, once it serves (and on an update of the policy); a platform
               without a backup storage, a storage gone, or a cluster without KubeStash or
               the archiver kinds is logged and left: the database is created all the
               same, and a backup says why it cannot run
"""

from __future__ import annotations

import contextlib
from typing import Any

from app.cluster import errors
from app.domain import pitr
from app.domain.databases import Database
from app.domain.manifests import JsonObject
from app.domain.manifests import backups as manifests
from app.domain.manifests import pitr as pitr_manifests
from app.domain.operation_kinds import RestoreSource
from app.services import backup_cluster, pitr_cluster
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.ports import ClusterGateway


def waiting_manifest(manifest: JsonObject, *, kind: str, source: RestoreSource) -> JsonObject:
    """The database CR (only the one of `kind`) asking to wait for its initial restore, or
    to recover to the source's point in time."""
    if manifest.get("kind") != kind:
        return manifest
    spec = dict(manifest.get("spec") or {})
    if source.point_in_time is not None:
        if source.manifest_repository is None:
            raise ValueError("a point-in-time source names its manifest repository")
        spec.update(
            pitr_manifests.recovery_init(
                source_namespace=source.namespace,
                full_repo=source.repository,
                manifest_repo=source.manifest_repository,
                point_in_time=source.point_in_time,
            )
        )
    else:
        spec.update(manifests.wait_for_initial_restore_patch())
    return {**manifest, "spec": spec}


async def start(gateway: ClusterGateway, database: Database, source: RestoreSource) -> str | None:
    """The RestoreSession's name; None for a point in time (KubeDB recovers it)."""
    if source.point_in_time is not None:
        return None
    target = backup_cluster.target_of(database)
    name = manifests.restore_session_name(target.name)
    manifest = manifests.restore_session(
        target,
        name=name,
        source_namespace=source.namespace,
        repository=source.repository,
        snapshot=source.snapshot,
    )
    with (
        translated(f"creating RestoreSession {target.namespace}/{name}"),
        contextlib.suppress(errors.AlreadyExists),
    ):
        await gateway.create(backup_cluster.RESTORE_SESSION, manifest)
    return name


async def failure(
    gateway: ClusterGateway,
    database: Database,
    *,
    source: RestoreSource,
    database_cr: JsonObject,
) -> str | None:
    """Why the initial restore failed; None while it has not (or succeeded)."""
    if source.point_in_time is not None:
        return pitr.recovery_failure(database_cr)
    target = backup_cluster.target_of(database)
    name = manifests.restore_session_name(target.name)
    with translated(f"reading RestoreSession {target.namespace}/{name}"):
        session: dict[str, Any] | None = await gateway.find(
            backup_cluster.RESTORE_SESSION, name, namespace=target.namespace
        )
    if session is None:
        return None
    if (session.get("status") or {}).get("phase") in ("Failed", "Invalid"):
        return f"restore failed: {backup_cluster.condition_messages(session)}"
    return None


async def configure(
    deps: HandlerDeps,
    gateway: ClusterGateway,
    database: Database,
    log: Any,
    *,
    current: JsonObject | None = None,
) -> None:
    """The database's backup policy and its continuous archiving, as its record says
    (`current`: its CR as just read, if the caller has it)."""
    if deps.storages is None:
        return
    try:
        storage = await deps.storages.resolve_storage(database.backup_storage)
    except LookupError as exc:
        log.warning("backup_policy_not_applied", error=str(exc))
        return
    with translated(f"configuring backups of {database.name}"):
        try:
            await backup_cluster.converge_policy(gateway, database, storage)
        except errors.NotFound as exc:  # the cluster serves no KubeStash kinds
            log.warning("backup_policy_not_applied", error=f"KubeStash is not installed: {exc}")
            return
    with translated(f"configuring continuous archiving of {database.name}"):
        try:
            await pitr_cluster.converge(
                gateway, database, storage=storage.target.name, current=current
            )
        except errors.NotFound as exc:  # no archiver kinds (or the CR is gone)
            log.warning("pitr_not_applied", error=f"no KubeDB archiver here: {exc}")
