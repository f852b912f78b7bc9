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

from simulator.kubedb import conditions, events, restore_gate, workloads
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.engines import BY_KIND, FINALIZER, Engine
from simulator.kubedb.events import Recorder
from simulator.kubedb.offshoots import Offshoots
from simulator.kubedb.reconciler import Reconciler
from simulator.kubedb.settings import OperatorSettings


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


kubedb_labels = workloads.labels


def secret_data(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


class Provisioner(Reconciler):
    def __init__(
        self,
        cluster: Cluster,
        settings: OperatorSettings,
        *,
        offshoots: Offshoots,
        recorder: Recorder,
        ensured: dict[tuple[str, str, str], int],
        **kwargs: Any,
    ) -> None:
        super().__init__(cluster, settings, **kwargs)
        self._offshoots = offshoots
        self._events = recorder
        self._ensured = ensured
        """Databases whose offshoots match their spec: key -> the generation made so."""

    async def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        engine = BY_KIND[kind]
        db = await self._cluster.peek(engine.plural, namespace, name)
        key = (kind, namespace, name)
        if db is None:
            self._ensured.pop(key, None)
            return None
        if db["metadata"].get("deletionTimestamp"):
            await self._terminate(engine, db)
            self._timeline.forget(kind, namespace, name)
            self._ensured.pop(key, None)
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
            self._ensured.pop(key, None)
            await self._offshoots.halt(engine, db)
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
            paused = conditions.is_true(conds, "Paused")
            waiting, held = await self._pods(engine, db, key, conds, paused=paused)
            if not self._settings.never_provisions(namespace, name):
                held = {**self._settings.held_down(namespace, name), **held}
                restoring = await restore_gate.hold(self._cluster, db, conds, stamp=stamp)
                requeue = self._advance(key, conds, now, generation, held, waiting, restoring)

        status["conditions"] = conds
        status["phase"] = conditions.derive_phase(conds)
        status["observedGeneration"] = generation
        if status != (db.get("status") or {}):
            await self._phase_event(db, status)
            try:
                await self._cluster.replace_status(engine.plural, namespace, name, status)
            except ClusterError:
                return None
        return requeue

    async def _pods(
        self,
        engine: Engine,
        db: dict[str, Any],
        key: tuple[str, str, str],
        conds: list[dict[str, Any]],
        *,
        paused: bool,
    ) -> tuple[bool, dict[str, tuple[str, str]]]:
        """Make the offshoots match the spec (unless an OpsRequest holds the database), and
        read the pods' health: (wait before ReplicaReady, conditions the pods hold False)."""
        generation = int(db["metadata"].get("generation", 1))
        health = await self._offshoots.health(engine, db)
        if not paused and (health.missing or self._ensured.get(key) != generation):
            await self._offshoots.ensure(engine, db)
            self._ensured[key] = generation
        if paused:
            return False, {}
        if not conditions.is_true(conds, "Provisioned"):
            return not health.all_ready, {}
        held: dict[str, tuple[str, str]] = {}
        if not health.accepting:
            held["AcceptingConnection"] = (
                "DatabaseNotAcceptingConnectionRequest",
                "The database is not accepting client requests: no pod is ready",
            )
        if not health.all_ready:
            held["ReplicaReady"] = (
                "SomeReplicasNotReady",
                f"{health.ready} of {health.wanted} replicas are ready",
            )
        return False, held

    async def _phase_event(self, db: dict[str, Any], status: dict[str, Any]) -> None:
        before = (db.get("status") or {}).get("phase")
        phase = status.get("phase")
        if phase == before or phase not in ("Ready", "Critical", "NotReady", "Halted"):
            return
        bad = phase in ("Critical", "NotReady")
        await self._events.record(
            db,
            "Warning" if bad else "Normal",
            phase if bad else "Successful",
            f"The database is {phase}",
            component=events.OPERATOR,
        )

    def _advance(
        self,
        key: tuple[str, str, str],
        conds: list[dict[str, Any]],
        now: datetime,
        generation: int,
        held: dict[str, tuple[str, str]],
        waiting: bool = False,
        restoring: bool = False,
    ) -> float | None:
        """Turn due conditions True in order; the seconds until the next is due, or None.

        `waiting`: the pods are not all ready yet, so ReplicaReady (and what follows) waits;
        the PetSets' status changes wake the provisioner again.

        `restoring`: the database waits for its initial restore (`restore_gate`), so Ready
        (and what follows) waits; the RestoreSessions' changes wake the provisioner again.

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
            if waiting and kind == "ReplicaReady" and not (found and found.get("status") == "True"):
                return None
            if restoring and kind == "Ready" and not (found and found.get("status") == "True"):
                return None
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
        if await self._cluster.peek("secrets", namespace, secret_name) is not None:
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
                    "ownerReferences": [workloads.owner_ref(engine, db)],
                },
                "type": "kubernetes.io/basic-auth",
                "data": secret_data({"username": engine.default_user, "password": password}),
            },
        )
        status["authSecret"] = {"lastUpdateTimestamp": stamp}

    async def _terminate(self, engine: Engine, db: dict[str, Any]) -> None:
        """Apply the deletionPolicy, then drop the finalizer (reference §1.5, §7.3); the
        garbage collector removes what the database owns once it is gone."""
        meta = db["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            return
        await self._offshoots.release(engine, db)
        finalizers.remove(FINALIZER)
        try:
            await self._cluster.merge_patch(
                engine.plural, namespace, name, {"metadata": {"finalizers": finalizers}}
            )
        except ClusterError:
            return  # already gone: nothing left to do
