"""The KubeStash and KubeDB objects `bench.backup` creates, as the app creates them
(docs/simulator.md, "Backups (KubeStash)"): one local BackupStorage, a policy keeping every
round, one BackupConfiguration with a suspended session (backups only on demand), the
on-demand BackupSessions, and RestoreSessions into new databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CORE = "core.kubestash.com/v1alpha1"
STORAGE = "storage.kubestash.com/v1alpha1"
STORAGE_NS = "kubedb-dbaas-backup"
SOURCE = "src"
REPOSITORY = f"{SOURCE}-manual"
RESTORE_ADDON = {"name": "postgres-addon", "tasks": [{"name": "logical-backup-restore"}]}


def database(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": "Postgres",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "version": "16.13",
            "storage": {"resources": {"requests": {"storage": "2Gi"}}},
            "deletionPolicy": "WipeOut",
            **spec,
        },
    }


def storage_objects(path: Path, rounds: int) -> list[dict[str, Any]]:
    """The storage's namespace, a local BackupStorage and a policy keeping every round."""
    usage = {"allowedNamespaces": {"from": "All"}}
    local = {"mountPath": "/kubestash", "hostPath": {"path": str(path)}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": STORAGE_NS}},
        {
            "apiVersion": STORAGE,
            "kind": "BackupStorage",
            "metadata": {"name": "local", "namespace": STORAGE_NS},
            "spec": {
                "storage": {"provider": "local", "local": local},
                "usagePolicy": usage,
                "default": True,
                "deletionPolicy": "Delete",
            },
        },
        {
            "apiVersion": STORAGE,
            "kind": "RetentionPolicy",
            "metadata": {"name": "keep", "namespace": STORAGE_NS},
            "spec": {
                "usagePolicy": usage,
                "maxRetentionPeriod": "100y",
                "successfulSnapshots": {"last": rounds + 1},
            },
        },
    ]


def configuration() -> dict[str, Any]:
    """One suspended session: backups only when the bench asks for one."""
    return {
        "apiVersion": CORE,
        "kind": "BackupConfiguration",
        "metadata": {"name": f"{SOURCE}-backup", "namespace": "default"},
        "spec": {
            "target": {"apiGroup": "kubedb.com", "kind": "Postgres", "namespace": "default"}
            | {"name": SOURCE},
            "backends": [
                {
                    "name": "kept",
                    "storageRef": {"name": "local", "namespace": STORAGE_NS},
                    "retentionPolicy": {"name": "keep", "namespace": STORAGE_NS},
                }
            ],
            "sessions": [
                {
                    "name": "manual",
                    "scheduler": {"schedule": "0 0 1 1 *", "suspend": True},
                    "repositories": [
                        {"name": REPOSITORY, "backend": "kept", "directory": f"/{SOURCE}"}
                    ],
                    "addon": {"name": "postgres-addon", "tasks": [{"name": "logical-backup"}]},
                }
            ],
        },
    }


def backup_session(round_: int) -> dict[str, Any]:
    invoker = {"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration"}
    return {
        "apiVersion": CORE,
        "kind": "BackupSession",
        "metadata": {"name": f"{SOURCE}-backup-{round_}", "namespace": "default"},
        "spec": {"invoker": invoker | {"name": f"{SOURCE}-backup"}, "session": "manual"},
    }


def restore_session(target: str, snapshot: str) -> dict[str, Any]:
    source = {"namespace": "default", "repository": REPOSITORY, "snapshot": snapshot}
    return {
        "apiVersion": CORE,
        "kind": "RestoreSession",
        "metadata": {"name": f"{target}-restore", "namespace": "default"},
        "spec": {
            "target": {"apiGroup": "kubedb.com", "kind": "Postgres", "namespace": "default"}
            | {"name": target},
            "dataSource": source,
            "addon": RESTORE_ADDON,
        },
    }
