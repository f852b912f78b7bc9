"""The BackupConfiguration `<db>-archiver` KubeDB's operator makes for an archived
database, from its archiver: sessions `full-backup` (repository `<db>-full`: a base backup
where the data plane is real) and `manifest-backup` (repository `<db>-manifest`), both on
the archiver's backup storage under `<subDir>/<namespace>/<db>/`."""

from __future__ import annotations

from typing import Any

from simulator.kubedb.archiver import window

ADDONS = {
    "Postgres": ("postgres-addon", "physical-backup"),
    "MySQL": ("mysql-addon", "physical-backup"),
    "MariaDB": ("mariadb-addon", "physical-backup"),
    "MongoDB": ("mongodb-addon", "logical-backup"),
}
DEFAULT_SCHEDULE = "0 0 * * *"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubedb.com"}


def directory(archiver: dict[str, Any], db: dict[str, Any]) -> str:
    """The database's folder on the storage: `<subDir>/<namespace>/<db>`."""
    sub = str(((archiver.get("spec") or {}).get("backupStorage") or {}).get("subDir") or "")
    meta = db["metadata"]
    return "/".join(p for p in (sub.strip("/"), meta["namespace"], meta["name"]) if p)


def _scheduler(part: dict[str, Any]) -> dict[str, Any]:
    scheduler = dict(part.get("scheduler") or {})
    scheduler.setdefault("schedule", DEFAULT_SCHEDULE)
    scheduler.setdefault("jobTemplate", {"backoffLimit": 1})
    return scheduler


def build(archiver: dict[str, Any], db: dict[str, Any], *, paused: bool) -> dict[str, Any]:
    spec = archiver.get("spec") or {}
    meta = db["metadata"]
    name, namespace, kind = str(meta["name"]), str(meta["namespace"]), str(db["kind"])
    storage = (spec.get("backupStorage") or {}).get("ref") or {}
    addon, full_task = ADDONS[kind]
    folder = directory(archiver, db)
    encryption = (
        {"encryptionSecret": spec["encryptionSecret"]} if spec.get("encryptionSecret") else {}
    )
    full = spec.get("fullBackup") or {}
    manifest = spec.get("manifestBackup") or {}

    def repository(repo: str, sub: str) -> dict[str, Any]:
        return {
            "name": repo,
            "backend": "archiver",
            "directory": f"/{folder}/{sub}",
            "deletionPolicy": spec.get("deletionPolicy") or "Retain",
            **encryption,
        }

    return {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupConfiguration",
        "metadata": {
            "name": window.configuration(name),
            "namespace": namespace,
            "labels": {
                **MANAGED_BY,
                "kubedb.com/archiver-name": str(archiver["metadata"]["name"]),
                "kubedb.com/archiver-namespace": str(archiver["metadata"]["namespace"]),
            },
            "ownerReferences": [
                {
                    "apiVersion": str(db["apiVersion"]),
                    "kind": kind,
                    "name": name,
                    "uid": str(meta["uid"]),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "target": {
                "apiGroup": "kubedb.com",
                "kind": kind,
                "namespace": namespace,
                "name": name,
            },
            "backends": [
                {
                    "name": "archiver",
                    "storageRef": {
                        "name": storage.get("name"),
                        "namespace": storage.get("namespace") or archiver["metadata"]["namespace"],
                    },
                    "retentionPolicy": spec.get("retentionPolicy") or {},
                }
            ],
            "sessions": [
                {
                    "name": window.FULL,
                    "scheduler": _scheduler(full),
                    "repositories": [repository(window.full_repository(name), "full")],
                    "addon": {"name": addon, "tasks": [{"name": full_task}]},
                    "sessionHistoryLimit": full.get("sessionHistoryLimit", 2),
                },
                {
                    "name": window.MANIFEST,
                    "scheduler": _scheduler(manifest),
                    "repositories": [repository(window.manifest_repository(name), "manifest")],
                    "addon": {"name": addon, "tasks": [{"name": "manifest-backup"}]},
                    "sessionHistoryLimit": manifest.get("sessionHistoryLimit", 2),
                },
            ],
            "paused": paused,
        },
    }
