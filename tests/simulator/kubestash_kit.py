"""Objects of the backup contract (notes: BackupStorage, RetentionPolicy, BackupConfiguration,
BackupSession, RestoreSession) as the app creates them, for the KubeStash model's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.client import Client
from tests.support import eventually

STORAGE_NS = "kubedb-dbaas-backup"
CORE = "core.kubestash.com/v1alpha1"
STORAGE = "storage.kubestash.com/v1alpha1"
ADDONS = {"Postgres": "postgres-addon", "Redis": "redis-addon", "MySQL": "mysql-addon"}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def local_storage(name: str, path: Path, *, default: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": STORAGE,
        "kind": "BackupStorage",
        "metadata": {"name": name, "namespace": STORAGE_NS},
        "spec": {
            "storage": {
                "provider": "local",
                "local": {"mountPath": "/kubestash", "hostPath": {"path": str(path)}},
            },
            "usagePolicy": {"allowedNamespaces": {"from": "All"}},
            "default": default,
            "deletionPolicy": "Delete",
        },
    }


def s3_storage(
    name: str,
    *,
    endpoint: str = "http://127.0.0.1:9",
    bucket: str = "b",
    prefix: str = "p",
) -> dict[str, Any]:
    return {
        "apiVersion": STORAGE,
        "kind": "BackupStorage",
        "metadata": {"name": name, "namespace": STORAGE_NS},
        "spec": {
            "storage": {
                "provider": "s3",
                "s3": {
                    "endpoint": endpoint,
                    "bucket": bucket,
                    "prefix": prefix,
                    "region": "us-east-1",
                    "secretName": f"{name}-backend",
                },
            },
            "usagePolicy": {"allowedNamespaces": {"from": "All"}},
            "deletionPolicy": "Delete",
        },
    }


def s3_secret(storage: str, access_key: str, secret_key: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{storage}-backend", "namespace": STORAGE_NS},
        "stringData": {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key},
    }


def policy(name: str, namespace_: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": STORAGE,
        "kind": "RetentionPolicy",
        "metadata": {"name": name, "namespace": namespace_},
        "spec": {"usagePolicy": {"allowedNamespaces": {"from": "All"}}, **spec},
    }


def configuration(
    kind: str, db: str, storage: str, *, schedule: str = "0 0 1 1 *", paused: bool = False
) -> dict[str, Any]:
    """The contract's configuration; yearly by default, so that no scheduled backup comes
    during a test (the simulator's clock runs 100 times faster at time scale 0.01)."""
    storage_ref = {"name": storage, "namespace": STORAGE_NS}
    addon = {"name": ADDONS[kind], "tasks": [{"name": "logical-backup"}]}
    return {
        "apiVersion": CORE,
        "kind": "BackupConfiguration",
        "metadata": {"name": f"{db}-backup", "namespace": "default"},
        "spec": {
            "target": {"apiGroup": "kubedb.com", "kind": kind, "namespace": "default", "name": db},
            "backends": [
                {
                    "name": "scheduled",
                    "storageRef": storage_ref,
                    "retentionPolicy": {"name": f"{db}-retention", "namespace": "default"},
                },
                {
                    "name": "kept",
                    "storageRef": storage_ref,
                    "retentionPolicy": {"name": "keep-manual", "namespace": STORAGE_NS},
                },
            ],
            "sessions": [
                {
                    "name": "scheduled",
                    "scheduler": {"schedule": schedule, "jobTemplate": {"backoffLimit": 1}},
                    "repositories": [
                        {
                            "name": f"{db}-scheduled",
                            "backend": "scheduled",
                            "directory": f"/default/{db}/scheduled",
                        }
                    ],
                    "addon": addon,
                },
                {
                    "name": "manual",
                    "scheduler": {
                        "schedule": "0 0 1 1 *",
                        "suspend": True,
                        "jobTemplate": {"backoffLimit": 1},
                    },
                    "repositories": [
                        {
                            "name": f"{db}-manual",
                            "backend": "kept",
                            "directory": f"/default/{db}/manual",
                        }
                    ],
                    "addon": addon,
                },
            ],
            "paused": paused,
        },
    }


def on_demand(db: str, unix: int, session: str = "manual") -> dict[str, Any]:
    return {
        "apiVersion": CORE,
        "kind": "BackupSession",
        "metadata": {"name": f"{db}-backup-{session}-{unix}", "namespace": "default"},
        "spec": {
            "invoker": {
                "apiGroup": "core.kubestash.com",
                "kind": "BackupConfiguration",
                "name": f"{db}-backup",
            },
            "session": session,
        },
    }


def restore(
    name: str, kind: str, target: str, repository: str, snapshot: str = "latest"
) -> dict[str, Any]:
    return {
        "apiVersion": CORE,
        "kind": "RestoreSession",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "target": {
                "apiGroup": "kubedb.com",
                "kind": kind,
                "namespace": "default",
                "name": target,
            },
            "dataSource": {"namespace": "default", "repository": repository, "snapshot": snapshot},
            "addon": {"name": ADDONS[kind], "tasks": [{"name": "logical-backup-restore"}]},
        },
    }


async def setup_storage(client: Client, path: Path, name: str = "local") -> None:
    await client.create(namespace(STORAGE_NS))
    await client.create(local_storage(name, path, default=True))
    await client.create(
        policy("keep-manual", STORAGE_NS, maxRetentionPeriod="100y", failedSnapshots={"last": 3})
    )


async def phase_of(
    client: Client, plural: str, name: str, namespace_: str = "default"
) -> str | None:
    found = await client.find(plural, name, namespace=namespace_)
    return None if found is None else (found.get("status") or {}).get("phase")


async def finished(client: Client, plural: str, name: str, timeout: float = 30) -> dict[str, Any]:
    """The session once Succeeded or Failed."""

    async def done() -> dict[str, Any] | None:
        found = await client.find(plural, name)
        phase = ((found or {}).get("status") or {}).get("phase")
        return found if phase in ("Succeeded", "Failed") else None

    return await eventually(done, timeout=timeout, message=f"{plural} {name} finished")


async def sessions_of(client: Client, bc: str) -> list[dict[str, Any]]:
    return [
        s
        for s in await client.list("backupsessions")
        if (s.get("spec") or {}).get("invoker", {}).get("name") == bc
    ]
