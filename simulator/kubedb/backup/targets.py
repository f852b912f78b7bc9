"""A backup's or restore's target database, read from the cluster: the database object,
its AppBinding (real data plane: the server's URL) and its auth Secret's credentials."""

from __future__ import annotations

import base64
from typing import Any

from simulator.kubedb.backup.movers import Target
from simulator.kubedb.cluster import Cluster
from simulator.kubedb.dataplane.port import ANNOTATION_MODE, ANNOTATION_SERVER, Mode
from simulator.kubedb.engines import BY_KIND


async def database(cluster: Cluster, ref: dict[str, Any], namespace: str) -> dict[str, Any] | None:
    """The database a TypedObjectReference names (kubedb.com kinds), or None."""
    engine = BY_KIND.get(str(ref.get("kind")))
    if engine is None or ref.get("apiGroup", "kubedb.com") != "kubedb.com":
        return None
    return await cluster.peek(
        engine.plural, str(ref.get("namespace") or namespace), str(ref.get("name"))
    )


def accepting(db: dict[str, Any]) -> bool:
    """The database's server accepts connections (KubeDB's AcceptingConnection)."""
    for cond in (db.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "AcceptingConnection":
            return bool(cond.get("status") == "True")
    return False


async def settled(cluster: Cluster, db: dict[str, Any]) -> bool:
    """The database's AppBinding tells the truth: a primary pod with a real server
    (starting, running or down) has its AppBinding say `real` with a url."""
    meta = db["metadata"]
    pod = await cluster.peek("pods", meta["namespace"], f"{meta['name']}-0")
    server = ((pod or {}).get("metadata") or {}).get("annotations", {}).get(ANNOTATION_SERVER)
    if server not in ("starting", "running", "down"):
        return True
    binding = await cluster.peek("appbindings", meta["namespace"], meta["name"]) or {}
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    url = ((binding.get("spec") or {}).get("clientConfig") or {}).get("url")
    return annotations.get(ANNOTATION_MODE) == Mode.REAL.value and bool(url)


async def resolve(cluster: Cluster, db: dict[str, Any]) -> Target:
    meta = db["metadata"]
    namespace, name, kind = str(meta["namespace"]), str(meta["name"]), str(db["kind"])
    binding = await cluster.peek("appbindings", namespace, name) or {}
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    url = ((binding.get("spec") or {}).get("clientConfig") or {}).get("url")
    real = annotations.get(ANNOTATION_MODE) == Mode.REAL.value and bool(url)
    secret_name = ((db.get("spec") or {}).get("authSecret") or {}).get("name") or f"{name}-auth"
    secret = await cluster.peek("secrets", namespace, str(secret_name)) or {}
    data = secret.get("data") or {}

    def decoded(key: str, default: str) -> str:
        return base64.b64decode(data[key]).decode() if key in data else default

    return Target(
        kind=kind,
        namespace=namespace,
        name=name,
        url=str(url) if real else None,
        username=decoded("username", BY_KIND[kind].default_user),
        password=decoded("password", ""),
        manifest={
            "apiVersion": db.get("apiVersion"),
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": db.get("spec") or {},
        },
    )


def version(db: dict[str, Any]) -> str:
    return str((db.get("spec") or {}).get("version", ""))
