"""Deleting a Snapshot (KubeStash's `kubestash.com/cleanup` finalizer): with
`spec.deletionPolicy: WipeOut` its files on the storage go with it; with `Delete` (the
default) only the object goes and the data stays, as the reference says of KubeStash's
deletion policies. Retention removes files itself (restic's forget and prune)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from simulator.kubedb.backup import backends
from simulator.kubedb.cluster import Cluster, ClusterError

FINALIZER = "kubestash.com/cleanup"


async def reconcile(cluster: Cluster, namespace: str, name: str) -> float | None:
    snap = await cluster.peek("snapshots", namespace, name)
    if snap is None or not snap["metadata"].get("deletionTimestamp"):
        return None
    finalizers = list(snap["metadata"].get("finalizers") or ())
    if FINALIZER not in finalizers:
        return None
    if (snap.get("spec") or {}).get("deletionPolicy") == "WipeOut":
        await _wipe(cluster, snap)
    finalizers.remove(FINALIZER)
    try:
        await cluster.merge_patch(
            "snapshots", namespace, name, {"metadata": {"finalizers": finalizers}}
        )
    except ClusterError:
        return None
    return None


async def _wipe(cluster: Cluster, snap: dict[str, Any]) -> None:
    namespace = snap["metadata"]["namespace"]
    repo_name = (snap.get("spec") or {}).get("repository")
    repo = await cluster.peek("repositories", namespace, str(repo_name))
    ref = ((repo or {}).get("spec") or {}).get("storageRef") or {}
    store = await cluster.peek(
        "backupstorages", str(ref.get("namespace") or namespace), str(ref.get("name"))
    )
    component = ((snap.get("status") or {}).get("components") or {}).get("dump") or {}
    path = str(component.get("path") or "").strip("/")
    if path:  # <directory>/<snapshot>/dump: the snapshot's folder is its parent
        await backends.remove(cluster, store, str(PurePosixPath(path).parent))
