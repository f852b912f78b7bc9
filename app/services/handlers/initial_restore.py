"""What a create does about backups: a new database that starts from a backup (restore,
clone) waits for its initial restore, and every new database gets its backup policy.

    manifest   `spec.init.waitForInitialRestore: true` on the database CR, so KubeDB keeps
               it Provisioning until the data is in (reference/kubestash.md §2)
    start      the RestoreSession `<db>-restore` loading the source Snapshot into it
    failure    the RestoreSession's reason once it failed (the create fails with it)
    configure  the storage and the database's BackupConfiguration, once it serves; a
               platform without a backup storage, a storage gone, or a cluster without
               KubeStash is logged and left: the database is created all the same, and a
               backup says why it cannot run
"""

from __future__ import annotations

import contextlib
from typing import Any

from app.cluster import errors
from app.domain.databases import Database
from app.domain.manifests import JsonObject
from app.domain.manifests import backups as manifests
from app.domain.operation_kinds import RestoreSource
from app.services import backup_cluster
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.ports import ClusterGateway


def waiting_manifest(manifest: JsonObject, *, kind: str) -> JsonObject:
    """The database CR (only the one of `kind`) asking to wait for its initial restore."""
    if manifest.get("kind") != kind:
        return manifest
    spec = dict(manifest.get("spec") or {})
    spec.update(manifests.wait_for_initial_restore_patch())
    return {**manifest, "spec": spec}


async def start(gateway: ClusterGateway, database: Database, source: RestoreSource) -> str:
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


async def failure(gateway: ClusterGateway, database: Database) -> str | None:
    """Why the initial restore failed; None while it has not (or succeeded)."""
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
    deps: HandlerDeps, gateway: ClusterGateway, database: Database, log: Any
) -> None:
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
