"""KubeStash objects for backups (reference/kubestash.md), built from plain values.

Per backup storage and provider cluster, in the platform namespace `kubedb-dbaas-backup`:
the storage's credentials Secret (`<storage>-backend`, cloud storages only), its
BackupStorage (usable from every namespace), and the RetentionPolicy `keep-manual` that
never prunes (manual and final backups are exempt from a database's retention).

Per database `D` in its namespace: the RetentionPolicy `D-retention` (the database's
`backup_retention_days`, failed ones kept a few) and the BackupConfiguration `D-backup` with
two backends over the same storage and two sessions:

    scheduled   the policy's cron    repository D-scheduled-<h>   retention D-retention
    manual      suspended            repository D-manual-<h>      retention keep-manual

(`<h>`: a hash of the database id and the storage, `repository_name`.)

An on-demand (or final) backup is a BackupSession of the `manual` session; a restore is a
RestoreSession whose target is a new database created with `spec.init.waitForInitialRestore`
or, in place, the database itself. Names are deterministic, so a re-run step meets 409 for
what it already made. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from app.domain import engines
from app.domain.manifests import JsonObject, labels, names

STORAGE_API_VERSION = "storage.kubestash.com/v1alpha1"
CORE_API_VERSION = "core.kubestash.com/v1alpha1"
CORE_GROUP = "core.kubestash.com"
KUBEDB_GROUP = "kubedb.com"
PLATFORM_NAMESPACE = "kubedb-dbaas-backup"
KEEP_MANUAL = "keep-manual"
SCHEDULED, MANUAL = "scheduled", "manual"
KEPT_BACKEND = "kept"
BACKUP_TYPE_KEY = "dbaas.io/backup-type"
# A cron that never matters: the manual session is suspended, but KubeStash requires one.
MANUAL_SCHEDULE = "0 0 1 1 *"
LOCAL_MOUNT_PATH = "/kubestash"
_SECRET_KEYS = {
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "gcs": ("GOOGLE_PROJECT_ID", "GOOGLE_SERVICE_ACCOUNT_JSON_KEY"),
    "azure": ("AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY"),
}


@dataclass(frozen=True, slots=True)
class StorageTarget:
    """What a BackupStorage needs of a platform backup storage."""

    name: str
    provider: str
    bucket: str | None = None
    prefix: str | None = None
    region: str | None = None
    endpoint: str | None = None
    path: str | None = None
    """local: the directory on the machine (the embedded cluster writes into it)."""
    default: bool = False


@dataclass(frozen=True, slots=True)
class BackupTarget:
    """The database a BackupConfiguration or RestoreSession points at."""

    database_id: str
    name: str
    namespace: str
    engine: engines.Engine
    domain: str
    project: str

    @property
    def kind(self) -> str:
        return engines.ENGINES[self.engine].kind

    @property
    def addon(self) -> str:
        return f"{self.kind.lower()}-addon"


def _platform_labels() -> dict[str, str]:
    return {labels.MANAGED_BY_KEY: labels.MANAGED_BY}


def _database_labels(target: BackupTarget) -> dict[str, str]:
    return labels.system_labels(
        database_id=target.database_id, domain=target.domain, project=target.project
    )


def secret_name(storage: str) -> str:
    return names.derived_name(storage, "backend")


def storage_secret(storage: StorageTarget, credentials: Mapping[str, str]) -> JsonObject | None:
    """The credentials Secret of a cloud storage; None for `local` (nothing to hold)."""
    if storage.provider == "local":
        return None
    data = dict(credentials)
    if storage.provider == "s3" and storage.endpoint:
        data.setdefault("AWS_ENDPOINT", storage.endpoint)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(storage.name),
            "namespace": PLATFORM_NAMESPACE,
            "labels": _platform_labels(),
        },
        "type": "Opaque",
        "stringData": data,
    }


def credential_keys(provider: str) -> tuple[str, ...]:
    return _SECRET_KEYS.get(provider, ())


def backup_storage(storage: StorageTarget) -> JsonObject:
    spec: JsonObject = {"provider": storage.provider}
    if storage.provider == "local":
        spec["local"] = {"mountPath": LOCAL_MOUNT_PATH, "hostPath": {"path": storage.path}}
    else:
        block: JsonObject = {"secretName": secret_name(storage.name)}
        if storage.provider == "azure":
            block["container"] = storage.bucket
        else:
            block["bucket"] = storage.bucket
        for key in ("prefix", "region", "endpoint"):
            value = getattr(storage, key)
            if value and not (storage.provider != "s3" and key in ("region", "endpoint")):
                block[key] = value
        spec[storage.provider] = block
    return {
        "apiVersion": STORAGE_API_VERSION,
        "kind": "BackupStorage",
        "metadata": {
            "name": storage.name,
            "namespace": PLATFORM_NAMESPACE,
            "labels": _platform_labels(),
        },
        "spec": {
            "storage": spec,
            "usagePolicy": {"allowedNamespaces": {"from": "All"}},
            "default": storage.default,
            "deletionPolicy": "Delete",
        },
    }


def keep_manual_policy() -> JsonObject:
    return {
        "apiVersion": STORAGE_API_VERSION,
        "kind": "RetentionPolicy",
        "metadata": {
            "name": KEEP_MANUAL,
            "namespace": PLATFORM_NAMESPACE,
            "labels": _platform_labels(),
        },
        "spec": {
            "maxRetentionPeriod": "100y",
            "failedSnapshots": {"last": 3},
            "usagePolicy": {"allowedNamespaces": {"from": "All"}},
        },
    }


def retention_name(database: str) -> str:
    return names.derived_name(database, "retention")


def configuration_name(database: str) -> str:
    return names.derived_name(database, "backup")


def repository_name(target: BackupTarget, session: str, *, storage: str) -> str:
    """`<db>-<session>-<hash>`, the hash of the database's id and the storage: a namesake
    created after a delete, or a move to another storage, gets repositories of its own
    (KubeStash refuses a repository name for another target or storage, and a shared
    one would mix two databases' backups and retention)."""
    digest = hashlib.sha256(f"{target.database_id}/{storage}".encode()).hexdigest()[:6]
    return names.derived_name(target.name, f"{session}-{digest}")


def retention_policy(
    target: BackupTarget, *, period: str, failed_kept: int, keep_last: int | None = None
) -> JsonObject:
    spec: JsonObject = {
        "maxRetentionPeriod": period,
        "failedSnapshots": {"last": failed_kept},
        "usagePolicy": {"allowedNamespaces": {"from": "Same"}},
    }
    if keep_last is not None:
        spec["successfulSnapshots"] = {"last": keep_last}
    return {
        "apiVersion": STORAGE_API_VERSION,
        "kind": "RetentionPolicy",
        "metadata": {
            "name": retention_name(target.name),
            "namespace": target.namespace,
            "labels": _database_labels(target),
        },
        "spec": spec,
    }


def _session(
    target: BackupTarget, name: str, *, storage: str, backend: str, scheduler: JsonObject
) -> JsonObject:
    repository = repository_name(target, name, storage=storage)
    return {
        "name": name,
        "scheduler": {"jobTemplate": {"backoffLimit": 1}, **scheduler},
        "repositories": [
            {
                "name": repository,
                "backend": backend,
                "directory": f"/{target.namespace}/{repository}",
                # A database's backups outlive it (and its BackupConfiguration).
                "deletionPolicy": "Retain",
            }
        ],
        "addon": {"name": target.addon, "tasks": [{"name": "logical-backup"}]},
    }


def backup_configuration(
    target: BackupTarget, *, storage: str, schedule: str, enabled: bool, paused: bool = False
) -> JsonObject:
    """Backups off suspend the scheduled session only (on-demand backups still run);
    `paused` (the whole configuration) is for the length of an in-place restore."""
    storage_ref = {"name": storage, "namespace": PLATFORM_NAMESPACE}
    return {
        "apiVersion": CORE_API_VERSION,
        "kind": "BackupConfiguration",
        "metadata": {
            "name": configuration_name(target.name),
            "namespace": target.namespace,
            "labels": _database_labels(target),
        },
        "spec": {
            "target": {
                "apiGroup": KUBEDB_GROUP,
                "kind": target.kind,
                "namespace": target.namespace,
                "name": target.name,
            },
            "backends": [
                {
                    "name": SCHEDULED,
                    "storageRef": storage_ref,
                    "retentionPolicy": {
                        "name": retention_name(target.name),
                        "namespace": target.namespace,
                    },
                },
                {
                    "name": KEPT_BACKEND,
                    "storageRef": storage_ref,
                    "retentionPolicy": {"name": KEEP_MANUAL, "namespace": PLATFORM_NAMESPACE},
                },
            ],
            "sessions": [
                _session(
                    target,
                    SCHEDULED,
                    storage=storage,
                    backend=SCHEDULED,
                    scheduler={"schedule": schedule, "suspend": not enabled},
                ),
                _session(
                    target,
                    MANUAL,
                    storage=storage,
                    backend=KEPT_BACKEND,
                    scheduler={"schedule": MANUAL_SCHEDULE, "suspend": True},
                ),
            ],
            "paused": paused,
        },
    }


def backup_session(
    target: BackupTarget, *, name: str, backup_type: str, owner_uid: str | None = None
) -> JsonObject:
    """An on-demand BackupSession of the manual session (KubeStash's `trigger`)."""
    configuration = configuration_name(target.name)
    metadata: JsonObject = {
        "name": name,
        "namespace": target.namespace,
        "labels": {**_database_labels(target), BACKUP_TYPE_KEY: backup_type},
    }
    if owner_uid is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": CORE_API_VERSION,
                "kind": "BackupConfiguration",
                "name": configuration,
                "uid": owner_uid,
                "controller": True,
            }
        ]
    return {
        "apiVersion": CORE_API_VERSION,
        "kind": "BackupSession",
        "metadata": metadata,
        "spec": {
            "invoker": {
                "apiGroup": CORE_GROUP,
                "kind": "BackupConfiguration",
                "name": configuration,
            },
            "session": MANUAL,
        },
    }


def backup_session_name(database: str, *, unix_seconds: int, backup_id: str) -> str:
    """`<bc>-<session>-<unixSeconds>-<id tail>`: KubeStash's GenerateBackupSessionName, with
    the tail of our backup's id, since two backups of a database asked for within one second
    would otherwise share one session (and one Snapshot, which only one record may hold)."""
    tail = backup_id.rsplit("-", 1)[-1][-6:].lower()
    return names.derived_name(configuration_name(database), f"{MANUAL}-{unix_seconds}-{tail}")


def restore_session(
    target: BackupTarget,
    *,
    name: str,
    source_namespace: str,
    repository: str,
    snapshot: str,
) -> JsonObject:
    """A RestoreSession loading `snapshot` (a name or `latest`) of `repository` into
    `target` (a new database waiting for its initial restore, or the database itself)."""
    return {
        "apiVersion": CORE_API_VERSION,
        "kind": "RestoreSession",
        "metadata": {
            "name": name,
            "namespace": target.namespace,
            "labels": _database_labels(target),
        },
        "spec": {
            "target": {
                "apiGroup": KUBEDB_GROUP,
                "kind": target.kind,
                "namespace": target.namespace,
                "name": target.name,
            },
            "dataSource": {
                "namespace": source_namespace,
                "repository": repository,
                "snapshot": snapshot,
            },
            "addon": {
                "name": target.addon,
                "tasks": [{"name": "logical-backup-restore"}],
            },
        },
    }


def restore_session_name(database: str, *, unix_seconds: int | None = None) -> str:
    """`<db>-restore` for a new database's initial restore, `<db>-restore-<unix>` in place."""
    suffix = "restore" if unix_seconds is None else f"restore-{unix_seconds}"
    return names.derived_name(database, suffix)


def wait_for_initial_restore_patch() -> JsonObject:
    """The part of a new database's spec that keeps it Provisioning until a RestoreSession
    has loaded its data (`spec.init`, reference/kubestash.md §2)."""
    return {"init": {"waitForInitialRestore": True}}
