"""The operator's hands on a database's offshoots (KubeDB's word for the objects it makes):
create or update them from the spec, tear them down on halt, report the pods' health from
the PetSets' status, and move ownerReferences by deletionPolicy. What the objects look like
is `workloads`; when to do what is the provisioner's and the ops-manager's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from simulator.kubedb import events, workloads
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.engines import Engine
from simulator.kubedb.events import Recorder


@dataclass(frozen=True, slots=True)
class Health:
    ready: int
    wanted: int
    accepting: bool
    """Every node group has a ready pod (the database takes connections)."""
    missing: bool
    """A PetSet the spec needs does not exist."""

    @property
    def all_ready(self) -> bool:
        return not self.missing and self.ready >= self.wanted


class Offshoots:
    def __init__(self, cluster: Cluster, recorder: Recorder, rng: random.Random) -> None:
        self._cluster = cluster
        self._events = recorder
        self._rng = rng

    async def image(self, engine: Engine, version: str) -> str:
        found = await self._cluster.peek(engine.version_plural, None, version)
        image = (((found or {}).get("spec") or {}).get("db") or {}).get("image")
        return str(image or f"ghcr.io/kubedb/{engine.kind.lower()}:{version}")

    async def ensure(self, engine: Engine, db: dict[str, Any]) -> None:
        """Create what is missing, update the PetSets to the spec, remove surplus shards."""
        image = await self.image(engine, str((db.get("spec") or {}).get("version")))
        await self.ensure_petsets(engine, db, image)
        await self._ensure_services(engine, db)
        secret = workloads.auth_secret_name(db)
        await self._create(engine, db, "appbindings", workloads.appbinding(engine, db, secret))
        config = workloads.config_secret_name(db)
        if config:
            await self._create(engine, db, "secrets", self._config_secret(engine, db, config))

    async def ensure_petsets(self, engine: Engine, db: dict[str, Any], image: str) -> None:
        namespace = db["metadata"]["namespace"]
        wanted = workloads.groups(engine, db)
        for group in wanted:
            desired = workloads.petset(engine, db, group, image)
            current = await self._cluster.peek("petsets", namespace, group.name)
            if current is None:
                await self._create(engine, db, "petsets", desired)
                continue
            if _differs(current["spec"], desired["spec"]):
                await self._cluster.merge_patch(
                    "petsets", namespace, group.name, {"spec": desired["spec"]}
                )
                await self._events.record(
                    db,
                    "Normal",
                    "Successful",
                    f"Successfully patched PetSet {namespace}/{group.name}",
                    component=events.OPERATOR,
                )
        await self._remove_surplus_shards(db, {g.name for g in wanted})

    async def _remove_surplus_shards(self, db: dict[str, Any], wanted: set[str]) -> None:
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        if not any(g.startswith(f"{name}-shard") for g in wanted):
            return
        index = len([g for g in wanted if g.startswith(f"{name}-shard")])
        while await self._cluster.peek("petsets", namespace, f"{name}-shard{index}") is not None:
            await self._cluster.delete("petsets", namespace, f"{name}-shard{index}")
            index += 1

    async def health(self, engine: Engine, db: dict[str, Any]) -> Health:
        namespace = db["metadata"]["namespace"]
        ready = wanted = 0
        accepting, missing = True, False
        for group in workloads.groups(engine, db):
            found = await self._cluster.peek("petsets", namespace, group.name)
            wanted += group.replicas
            if found is None:
                missing, accepting = True, False
                continue
            group_ready = int((found.get("status") or {}).get("readyReplicas") or 0)
            ready += min(group_ready, group.replicas)
            accepting &= group_ready > 0
        return Health(ready, wanted, accepting, missing)

    async def halt(self, engine: Engine, db: dict[str, Any]) -> None:
        """Tear down the workloads, Services and AppBinding; PVCs and secrets stay (§1.6)."""
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        removed = False
        for group in workloads.groups(engine, db):
            removed |= await self._delete("petsets", namespace, group.name)
        for service in workloads.service_names(engine, name):
            found = await self._cluster.peek("services", namespace, service)
            annotations = ((found or {}).get("metadata") or {}).get("annotations") or {}
            if found is not None and annotations.get(workloads.KEEP_ON) != "halt":
                removed |= await self._delete("services", namespace, service)
        removed |= await self._delete("appbindings", namespace, name)
        if removed:
            await self._events.record(
                db,
                "Normal",
                "SuccessfulPause",
                "Successfully halted database",
                component=events.OPERATOR,
            )

    async def release(self, engine: Engine, db: dict[str, Any]) -> None:
        """KubeDB's `deletion.Do`: PVCs and persistent secrets lose or gain the database as
        owner by deletionPolicy; the garbage collector does the deleting."""
        policy = (db.get("spec") or {}).get("deletionPolicy") or "Delete"
        namespace = db["metadata"]["namespace"]
        owner = workloads.owner_ref(engine, db)
        claims = [
            f"{workloads.claim_name(engine)}-{pod}"
            for group in workloads.groups(engine, db)
            if group.storage
            for pod in workloads.pod_names(group)
        ]
        secrets = [
            s for s in (workloads.auth_secret_name(db), workloads.config_secret_name(db)) if s
        ]
        doomed_claims = policy in ("Delete", "WipeOut")
        for claim in claims:
            await self._set_owner(namespace, "persistentvolumeclaims", claim, owner, doomed_claims)
        for secret in secrets:
            keep = policy != "WipeOut" or not await self._kubedb_managed(namespace, secret)
            await self._set_owner(namespace, "secrets", secret, owner, not keep)

    async def _kubedb_managed(self, namespace: str, name: str) -> bool:
        found = await self._cluster.peek("secrets", namespace, name)
        managed = ((found or {}).get("metadata") or {}).get("labels", {})
        return bool(managed.get("app.kubernetes.io/managed-by") == "kubedb.com")

    async def _set_owner(
        self, namespace: str, plural: str, name: str, owner: dict[str, Any], owned: bool
    ) -> None:
        found = await self._cluster.peek(plural, namespace, name)
        if found is None:
            return
        refs = [
            r
            for r in found["metadata"].get("ownerReferences") or ()
            if r.get("uid") != owner["uid"]
        ]
        if owned:
            refs.append(owner)
        if refs == (found["metadata"].get("ownerReferences") or []):
            return
        try:
            await self._cluster.merge_patch(
                plural, namespace, name, {"metadata": {"ownerReferences": refs or None}}
            )
        except ClusterError:
            return

    async def _create(
        self, engine: Engine, db: dict[str, Any], plural: str, obj: dict[str, Any]
    ) -> None:
        namespace = db["metadata"]["namespace"]
        if await self._cluster.peek(plural, namespace, obj["metadata"]["name"]) is not None:
            return
        if await self._cluster.create(plural, namespace, obj):
            await self._events.record(
                db,
                "Normal",
                "Successful",
                f"Successfully created {obj['kind']} {namespace}/{obj['metadata']['name']}",
                component=events.OPERATOR,
            )

    async def _delete(self, plural: str, namespace: str, name: str) -> bool:
        if await self._cluster.peek(plural, namespace, name) is None:
            return False
        await self._cluster.delete(plural, namespace, name)
        return True

    def _config_secret(self, engine: Engine, db: dict[str, Any], name: str) -> dict[str, Any]:
        namespace = db["metadata"]["namespace"]
        inline = ((db.get("spec") or {}).get("configuration") or {}).get("inline") or {}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": workloads.labels(engine, db["metadata"]["name"]),
                "ownerReferences": [workloads.owner_ref(engine, db)],
            },
            "type": "Opaque",
            "stringData": {str(k): str(v) for k, v in inline.items()},
        }

    async def _ensure_services(self, engine: Engine, db: dict[str, Any]) -> None:
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        base = workloads.labels(engine, name)
        owner = workloads.owner_ref(engine, db)
        for service in workloads.service_names(engine, name):
            found = await self._cluster.peek("services", namespace, service)
            if found is not None:
                if not found["metadata"].get("ownerReferences"):  # made before owners existed
                    await self._set_owner(namespace, "services", service, owner, True)
                continue
            headless = service.endswith("-pods")
            selector = dict(base)
            if engine.has_standby and not headless:
                selector[workloads.ROLE] = "standby" if service.endswith("-standby") else "primary"
            spec: dict[str, Any] = {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {
                        "name": "db",
                        "port": engine.port,
                        "targetPort": engine.port,
                        "protocol": "TCP",
                    }
                ],
                "clusterIP": "None" if headless else self._cluster_ip(),
            }
            if headless:
                spec["publishNotReadyAddresses"] = True
            body = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": service,
                    "namespace": namespace,
                    "labels": base,
                    "ownerReferences": [owner],
                },
                "spec": spec,
            }
            await self._create(engine, db, "services", body)

    def _cluster_ip(self) -> str:
        return f"10.96.{self._rng.randint(0, 255)}.{self._rng.randint(1, 254)}"


def _differs(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    return any(current.get(k) != v for k, v in desired.items())
