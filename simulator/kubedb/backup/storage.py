"""The BackupStorage controller: a `local` storage is a folder of this machine
(`spec.storage.local.hostPath.path`), created when missing; `s3`, `gcs` and `azure` need
their credentials Secret (`secretName`) in the storage's namespace. An `s3` storage is then
initialised for real (`s3.Probes`: HeadBucket and a marker object under the prefix, through
boto3); `gcs` and `azure` stay NotReady (not emulated). Status: phase, the conditions
`BackendSecretFound` and `BackendInitialized` with KubeStash's reasons, totalSize and the
repositories on it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from simulator.kubedb import conditions
from simulator.kubedb.backup import s3, timing
from simulator.kubedb.cluster import Cluster, ClusterError

REMOTE = ("s3", "gcs", "azure")
REPO_LABEL = "kubestash.com/repo-name"


def root(storage: dict[str, Any]) -> Path | None:
    """Where a storage's repositories live on this machine (local storages), or None."""
    spec = ((storage.get("spec") or {}).get("storage")) or {}
    if spec.get("provider") != "local":
        return None
    local = spec.get("local") or {}
    path = (local.get("hostPath") or {}).get("path")
    if not path:
        return None
    return Path(str(path)) / str(local.get("subPath") or "")


def ready(storage: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether a storage can take backups, and the reason when not."""
    if storage is None:
        return False, "BackupStorageNotFound"
    status = storage.get("status") or {}
    if status.get("phase") == "Ready":
        return True, ""
    for cond in status.get("conditions") or ():
        if cond.get("status") == "False":
            return False, str(cond.get("reason"))
    return False, "BackupStorageNotReady"


def explain(storage: dict[str, Any] | None) -> str:
    """Why a storage is not Ready, with its condition's message: `Reason: message`."""
    for cond in ((storage or {}).get("status") or {}).get("conditions") or ():
        if cond.get("status") == "False":
            message = cond.get("message")
            return f"{cond.get('reason')}: {message}" if message else str(cond.get("reason"))
    return ready(storage)[1]


async def reconcile(
    cluster: Cluster, namespace: str, name: str, now: float, *, probes: s3.Probes
) -> float | None:
    storage = await cluster.peek("backupstorages", namespace, name)
    if storage is None or storage["metadata"].get("deletionTimestamp"):
        return None
    spec = ((storage.get("spec") or {}).get("storage")) or {}
    provider = str(spec.get("provider"))
    status: dict[str, Any] = dict(storage.get("status") or {})
    conds: list[dict[str, Any]] = [dict(c) for c in status.get("conditions") or []]
    stamp, generation = timing.stamp(now), int(storage["metadata"].get("generation", 1))

    def condition(kind: str, ok: bool, reason: str, message: str) -> None:
        conditions.set_condition(
            conds,
            kind,
            "True" if ok else "False",
            reason=reason,
            message=message,
            now=stamp,
            generation=generation,
        )

    error: str | None = None  # None: not initialised (no Secret), "": initialised
    if provider in REMOTE:
        secret_name = str((spec.get(provider) or {}).get("secretName") or "")
        secret = await cluster.peek("secrets", namespace, secret_name) if secret_name else None
        if secret is None:
            condition(
                "BackendSecretFound",
                False,
                "BackendSecretNotAvailable",
                f'Secret "{secret_name}" not found in namespace {namespace}',
            )
            conditions.remove_condition(conds, "BackendInitialized")
        else:
            condition("BackendSecretFound", True, "BackendSecretAvailable", "Backend Secret found")
            error = (
                await probes.check(storage, secret)
                if provider == "s3"
                else f"the {provider} backend is not emulated: backups to it fail"
            )
    else:
        error = await _local_folder(storage)
    if error:
        condition("BackendInitialized", False, "BackendInitializationFailed", error)
    elif error is not None:
        condition(
            "BackendInitialized",
            True,
            "BackendInitializationSucceeded",
            "Backend has been initialized successfully",
        )
    ok = all(c.get("status") == "True" for c in conds) and bool(conds)
    status["conditions"] = conds
    status["phase"] = "Ready" if ok else "NotReady"
    status.update(await _usage(cluster, namespace, name))
    if status != (storage.get("status") or {}):
        try:
            await cluster.replace_status("backupstorages", namespace, name, status)
        except ClusterError:
            return None
    return 2.0  # the secret, the folder and the repositories' sizes change


async def _local_folder(storage: dict[str, Any]) -> str:
    """A local storage's folder, made when missing; the error, or ""."""
    folder = root(storage)
    if folder is None:
        return "spec.storage.local.hostPath.path is not set"
    try:
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {folder}: {exc.strerror}"
    return ""


SIZE_ANNOTATION = "kubestash.simulator.kubedb-dbaas.io/size-bytes"
"""On a Snapshot: its exact size in bytes (`status.size` is rounded, as KubeStash writes)."""


def size_bytes(snapshot: dict[str, Any]) -> int:
    annotations = snapshot["metadata"].get("annotations") or {}
    return int(annotations.get(SIZE_ANNOTATION, 0) or 0)


async def _usage(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    repositories: list[dict[str, Any]] = []
    total = 0
    for repo in await cluster.list("repositories"):
        ref = (repo.get("spec") or {}).get("storageRef") or {}
        repo_ns = repo["metadata"]["namespace"]
        if ref.get("name") != name or (ref.get("namespace") or repo_ns) != namespace:
            continue
        size = sum(
            size_bytes(s)
            for s in await cluster.list("snapshots", repo_ns)
            if (s["metadata"].get("labels") or {}).get(REPO_LABEL) == repo["metadata"]["name"]
        )
        total += size
        repositories.append(
            {
                "name": repo["metadata"]["name"],
                "namespace": repo_ns,
                "path": (repo.get("spec") or {}).get("path", ""),
                "size": timing.human_size(size),
                "synced": True,
            }
        )
    return {"totalSize": timing.human_size(total), "repositories": repositories}
