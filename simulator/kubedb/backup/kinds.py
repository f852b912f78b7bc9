"""The KubeStash kinds (reference kubestash.md §1): their API resources, and the KubeDB
addons of the catalog, seeded at start as the kubedb-kubestash-catalog chart installs them."""

from __future__ import annotations

from typing import Any

from simulator.extensions import ResourceType

STORAGE_GROUP = "storage.kubestash.com"
CORE_GROUP = "core.kubestash.com"
ADDONS_GROUP = "addons.kubestash.com"
VERSION = "v1alpha1"
CATEGORIES = ("kubestash", "appscode", "all")
PHASE = ("Phase", ".status.phase")


def _kind(
    group: str,
    kind: str,
    plural: str,
    *,
    short: tuple[str, ...] = (),
    status: bool = True,
    namespaced: bool = True,
    columns: tuple[tuple[str, str], ...] = (PHASE,),
) -> ResourceType:
    return ResourceType(
        group=group,
        version=VERSION,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        short_names=short,
        namespaced=namespaced,
        status=status,
        custom=True,
        categories=CATEGORIES,
        columns=columns,
    )


BACKUP_STORAGE = _kind(
    STORAGE_GROUP,
    "BackupStorage",
    "backupstorages",
    columns=(("Provider", ".spec.storage.provider"), ("Default", ".spec.default"), PHASE),
)
REPOSITORY = _kind(
    STORAGE_GROUP,
    "Repository",
    "repositories",
    short=("repo",),
    columns=(("Snapshot-Count", ".status.snapshotCount"), ("Size", ".status.size"), PHASE),
)
SNAPSHOT = _kind(
    STORAGE_GROUP,
    "Snapshot",
    "snapshots",
    columns=(("Repository", ".spec.repository"), ("Size", ".status.size"), PHASE),
)
RETENTION_POLICY = _kind(
    STORAGE_GROUP,
    "RetentionPolicy",
    "retentionpolicies",
    status=False,
    columns=(("Max-Retention-Period", ".spec.maxRetentionPeriod"),),
)
BACKUP_CONFIGURATION = _kind(
    CORE_GROUP, "BackupConfiguration", "backupconfigurations", short=("bc",)
)
BACKUP_SESSION = _kind(
    CORE_GROUP,
    "BackupSession",
    "backupsessions",
    columns=(("Invoker", ".spec.invoker.name"), ("Session", ".spec.session"), PHASE),
)
RESTORE_SESSION = _kind(
    CORE_GROUP,
    "RestoreSession",
    "restoresessions",
    short=("restore",),
    columns=(("Repository", ".spec.dataSource.repository"), PHASE),
)
ADDON = _kind(ADDONS_GROUP, "Addon", "addons", status=False, namespaced=False, columns=())
FUNCTION = _kind(
    ADDONS_GROUP, "Function", "functions", short=("fn",), status=False, namespaced=False, columns=()
)
ALL = (
    BACKUP_STORAGE,
    REPOSITORY,
    SNAPSHOT,
    RETENTION_POLICY,
    BACKUP_CONFIGURATION,
    BACKUP_SESSION,
    RESTORE_SESSION,
    ADDON,
    FUNCTION,
)

# The KubeDB addons and their tasks (reference table, KDB-INST catalog chart).
_LOGICAL = ("logical-backup",)
_ADDON_TASKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "postgres-addon": (
        (*_LOGICAL, "physical-backup", "volume-snapshot", "manifest-backup"),
        ("logical-backup-restore", "physical-backup-restore", "manifest-restore"),
    ),
    "mysql-addon": (
        (*_LOGICAL, "physical-backup", "volume-snapshot", "manifest-backup"),
        ("logical-backup-restore", "physical-backup-restore", "manifest-restore"),
    ),
    "mariadb-addon": (
        (*_LOGICAL, "physical-backup", "volume-snapshot", "manifest-backup"),
        (
            "logical-backup-restore",
            "physical-backup-restore",
            "manifest-restore",
            "distributed-physical-backup-restore",
        ),
    ),
    "mongodb-addon": (
        (*_LOGICAL, "volume-snapshot", "manifest-backup"),
        ("logical-backup-restore", "manifest-restore"),
    ),
    "redis-addon": (
        (*_LOGICAL, "manifest-backup"),
        ("logical-backup-restore", "manifest-restore"),
    ),
}


def _task(engine: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "function": f"{engine}-{name}",
        "driver": "VolumeSnapshotter" if name == "volume-snapshot" else "Restic",
        "executor": "Job",
        "singleton": True,
        "parameters": [
            {"name": "enableCache", "usage": "Enable or disable caching.", "required": False},
            {
                "name": "scratchDir",
                "usage": "Directory for holding temporary files.",
                "required": False,
            },
        ],
    }


def catalog() -> list[dict[str, Any]]:
    """The Addon and Function objects present at start."""
    objects: list[dict[str, Any]] = []
    for addon, (backups, restores) in _ADDON_TASKS.items():
        engine = addon.removesuffix("-addon")
        objects.append(
            {
                "apiVersion": f"{ADDONS_GROUP}/{VERSION}",
                "kind": "Addon",
                "metadata": {"name": addon},
                "spec": {
                    "backupTasks": [_task(engine, t) for t in backups],
                    "restoreTasks": [_task(engine, t) for t in restores],
                },
            }
        )
        for task in (*backups, *restores):
            objects.append(
                {
                    "apiVersion": f"{ADDONS_GROUP}/{VERSION}",
                    "kind": "Function",
                    "metadata": {"name": f"{engine}-{task}"},
                    "spec": {
                        "image": f"ghcr.io/kubedb/{engine}-restic-plugin:v0.20.0",
                        "args": [task.replace("-", "_"), "--namespace=${namespace}"],
                    },
                }
            )
    return objects


def addon_tasks(addon: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    return _ADDON_TASKS.get(addon)
