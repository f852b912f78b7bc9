"""The provisioner: takes a database CR from creation to Ready, halts and resumes it, and
carries out its deletionPolicy (reference §1.5, §1.6, §2, §3).

Each `reconcile` reads the object afresh, does what is due, and says when to look again
(seconds) or None; it is safe to run any number of times. Time comes from `now()` so the
steps can be stretched, squeezed (time scale 0) or stalled (`never_provision`).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from simulator.kubedb import conditions
from simulator.kubedb.cluster import ClusterError
from simulator.kubedb.engines import BY_KIND, FINALIZER, Engine
from simulator.kubedb.reconciler import Reconciler


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def kubedb_labels(engine: Engine, name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": f"{engine.plural}.kubedb.com",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "kubedb.com",
        "app.kubernetes.io/component": "database",
    }


def secret_data(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


class Provisioner(Reconciler):
    async def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        engine = BY_KIND[kind]
        db = await self._cluster.get(engine.plural, namespace, name)
        if db is None:
            return None
        if db["metadata"].get("deletionTimestamp"):
            await self._terminate(engine, db)
            self._timeline.forget(kind, namespace, name)
            return None
        status: dict[str, Any] = dict(db.get("status") or {})
        conds: list[dict[str, Any]] = [dict(c) for c in status.get("conditions") or []]
        generation = int(db["metadata"].get("generation", 1))
        now = self._now()
        stamp = timestamp(now)
        requeue: float | None = None

        if not conditions.is_true(conds, "ProvisioningStarted"):
            conditions.set_condition(
                conds,
                "ProvisioningStarted",
                "True",
                reason="DatabaseProvisioningStartedSuccessfully",
                message="The KubeDB operator has started the provisioning",
                now=stamp,
                generation=generation,
            )
            await self._ensure_auth_secret(engine, db, status, stamp)

        if db["spec"].get("halted"):
            if not conditions.is_true(conds, "Halted"):
                conditions.set_condition(
                    conds,
                    "Halted",
                    "True",
                    reason="DatabaseHaltedSuccessfully",
                    message="The database is halted",
                    now=stamp,
                    generation=generation,
                )
            await self._delete_services(engine, namespace, name)
        else:
            if conditions.is_true(conds, "Halted"):
                # Resuming: the pods come back before the database accepts connections.
                conditions.remove_condition(conds, "Halted")
                for kind_ in ("ReplicaReady", "AcceptingConnection", "Ready"):
                    conditions.set_condition(
                        conds,
                        kind_,
                        "False",
                        reason="DatabaseResuming",
                        message="The database is resuming",
                        now=stamp,
                        generation=generation,
                    )
            await self._ensure_services(engine, db)
            if not self._settings.never_provisions(namespace, name):
                held = self._settings.held_down(namespace, name)
                requeue = self._advance((kind, namespace, name), conds, now, generation, held)

        status["conditions"] = conds
        status["phase"] = conditions.derive_phase(conds)
        status["observedGeneration"] = generation
        if status != (db.get("status") or {}):
            try:
                await self._cluster.replace_status(engine.plural, namespace, name, status)
            except ClusterError:
                return None
        return requeue

    def _advance(
        self,
        key: tuple[str, str, str],
        conds: list[dict[str, Any]],
        now: datetime,
        generation: int,
        held: dict[str, tuple[str, str]],
    ) -> float | None:
        """Turn due conditions True in order; the seconds until the next is due, or None.

        `held` conditions (a health fault, `OperatorSettings.held_down`) are set False and
        skipped: the rest still comes in order, so the phase ends Critical or NotReady. When
        the fault is lifted they turn True at once (their turn is long past).
        """
        step = self._settings.step
        elapsed: float | None = 0.0  # since the previous condition turned True
        for kind, reason, message in conditions.PROVISIONING_ORDER:
            if kind in held:
                if elapsed is not None and elapsed < step:
                    return step - elapsed  # not its turn yet
                held_reason, held_message = held[kind]
                conditions.set_condition(
                    conds,
                    kind,
                    "False",
                    reason=held_reason,
                    message=held_message,
                    now=timestamp(now),
                    generation=generation,
                )
                continue
            found = conditions.find(conds, kind)
            if found is not None and found.get("status") == "True":
                elapsed = self._timeline.since(*key, kind)
                if elapsed is None:  # from before this process: trust the stored time
                    at = parse_time(str(found["lastTransitionTime"]))
                    elapsed = now.timestamp() - at.timestamp()
                continue
            if elapsed is not None and elapsed < step:
                return step - elapsed
            conditions.set_condition(
                conds,
                kind,
                "True",
                reason=reason,
                message=message,
                now=timestamp(now),
                generation=generation,
            )
            self._timeline.mark(*key, kind)
            elapsed = 0.0
        return None

    async def _ensure_auth_secret(
        self, engine: Engine, db: dict[str, Any], status: dict[str, Any], stamp: str
    ) -> None:
        auth = db["spec"].get("authSecret") or {}
        if auth.get("externallyManaged"):
            return
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        secret_name = auth.get("name") or f"{name}-auth"
        if await self._cluster.get("secrets", namespace, secret_name) is not None:
            return
        password = self._password()
        await self._cluster.create(
            "secrets",
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": secret_name,
                    "namespace": namespace,
                    "labels": {**db["metadata"].get("labels", {}), **kubedb_labels(engine, name)},
                    "annotations": {"kubedb.com/auth-active-from": stamp},
                },
                "type": "kubernetes.io/basic-auth",
                "data": secret_data({"username": engine.default_user, "password": password}),
            },
        )
        status["authSecret"] = {"lastUpdateTimestamp": stamp}

    def _service_names(self, engine: Engine, name: str) -> list[str]:
        names = [name, f"{name}-pods"]
        if engine.has_standby:
            names.append(f"{name}-standby")
        return names

    async def _ensure_services(self, engine: Engine, db: dict[str, Any]) -> None:
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        labels = kubedb_labels(engine, name)
        for service in self._service_names(engine, name):
            if await self._cluster.get("services", namespace, service) is not None:
                continue
            headless = service.endswith("-pods")
            selector = dict(labels)
            if engine.has_standby and not headless:
                selector["kubedb.com/role"] = (
                    "standby" if service.endswith("-standby") else ("primary")
                )
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
            await self._cluster.create(
                "services",
                namespace,
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": service, "namespace": namespace, "labels": labels},
                    "spec": spec,
                },
            )

    def _cluster_ip(self) -> str:
        return f"10.96.{self._rng.randint(0, 255)}.{self._rng.randint(1, 254)}"

    async def _delete_services(self, engine: Engine, namespace: str, name: str) -> None:
        for service in self._service_names(engine, name):
            await self._cluster.delete("services", namespace, service)

    async def _terminate(self, engine: Engine, db: dict[str, Any]) -> None:
        """Apply the deletionPolicy, then drop the finalizer (reference §1.5, §7.3)."""
        meta = db["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            return
        await self._delete_services(engine, namespace, name)
        spec = db.get("spec") or {}
        auth = spec.get("authSecret") or {}
        if spec.get("deletionPolicy") == "WipeOut" and not auth.get("externallyManaged"):
            secret_name = auth.get("name") or f"{name}-auth"
            secret = await self._cluster.get("secrets", namespace, secret_name)
            managed = (
                (secret or {})
                .get("metadata", {})
                .get("labels", {})
                .get("app.kubernetes.io/managed-by")
            )
            if managed == "kubedb.com":
                await self._cluster.delete("secrets", namespace, secret_name)
        finalizers.remove(FINALIZER)
        try:
            await self._cluster.merge_patch(
                engine.plural, namespace, name, {"metadata": {"finalizers": finalizers}}
            )
        except ClusterError:
            return  # already gone: nothing left to do
