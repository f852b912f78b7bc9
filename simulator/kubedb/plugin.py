"""`install(sim)`: the KubeDB operator model in the simulator (loaded by default).

It seeds the version catalog, registers the webhooks (admission hooks) for the database and
OpsRequest kinds, the provisioner and ops-manager controllers, and the operator's knobs,
which `/_sim/config` shows and changes at run time.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

from simulator.extensions import (
    AdmissionRequest,
    Client,
    Config,
    ControllerContext,
    Knob,
    ResourceType,
    Simulator,
    errors,
)
from simulator.kubedb import catalog, ops_schemas, runner, schemas, webhooks
from simulator.kubedb.archiver import plugin as archiver
from simulator.kubedb.backup import plugin as backup
from simulator.kubedb.backup.restore import target_key
from simulator.kubedb.cluster import ClusterError
from simulator.kubedb.dataplane import controller as dataplane
from simulator.kubedb.dataplane.plane import DataPlane
from simulator.kubedb.engines import (
    BY_KIND,
    CATALOG_GROUP,
    CATALOG_VERSION,
    DB_GROUP,
    ENGINES,
    OPS_ENGINES,
    OPS_GROUP,
    OPS_VERSION,
)
from simulator.kubedb.events import Recorder
from simulator.kubedb.offshoots import Offshoots
from simulator.kubedb.ops_manager import OpsManager
from simulator.kubedb.petsets import PetSetController
from simulator.kubedb.provisioner import Provisioner
from simulator.kubedb.reconciler import Timeline
from simulator.kubedb.settings import OperatorSettings

KNOBS = (
    Knob(
        "provisioning_step_seconds",
        1.0,
        "simulated seconds between provisioning conditions",
        minimum=0.0,
    ),
    Knob("ops_seconds", 2.0, "simulated seconds an OpsRequest stays Progressing", minimum=0.0),
    Knob(
        "ops_failure_probability",
        0.0,
        "probability that an OpsRequest fails",
        minimum=0.0,
        maximum=1.0,
    ),
    Knob("stuck_ops", (), "namespace/name globs of OpsRequests that never finish"),
    Knob("never_provision", (), "namespace/name globs of databases stuck in Provisioning"),
    Knob("degraded", (), "namespace/name globs of databases with a replica down (Critical)"),
    Knob("unhealthy", (), "namespace/name globs of databases refusing connections (NotReady)"),
    Knob("crashloop_pods", (), "namespace/pod globs of pods in CrashLoopBackOff"),
    Knob("pending_pvcs", (), "namespace/pvc globs of PVCs that stay Pending"),
    Knob(
        "failing_volume_expansions",
        (),
        "namespace/name globs of databases whose VolumeExpansion OpsRequests fail",
    ),
)

REDIS_SENTINEL = ResourceType(
    group=DB_GROUP,
    version="v1",
    kind="RedisSentinel",
    plural="redissentinels",
    singular="redissentinel",
    short_names=("rds",),
    status=True,
    custom=True,
    categories=("datastore", "kubedb", "all"),
)


PETSET = ResourceType(
    group="apps.k8s.appscode.com",
    version="v1",
    kind="PetSet",
    plural="petsets",
    singular="petset",
    status=True,
    custom=True,
    categories=("all",),
    columns=(("Replicas", ".spec.replicas"), ("Ready", ".status.readyReplicas")),
)

APPBINDING = ResourceType(
    group="appcatalog.appscode.com",
    version="v1alpha1",
    kind="AppBinding",
    plural="appbindings",
    singular="appbinding",
    short_names=("app",),
    custom=True,
    categories=("catalog", "appscode", "all"),
    columns=(("Type", ".spec.type"), ("Version", ".spec.version")),
)


def _database_of(obj: dict[str, Any]) -> tuple[str, str, str] | None:
    """A PetSet's database (its controlling owner), as the provisioner's work-queue key."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") in BY_KIND:
            return str(ref["kind"]), str(obj["metadata"].get("namespace")), str(ref["name"])
    return None


def _petset_of(obj: dict[str, Any]) -> tuple[str, str, str] | None:
    """A pod's (owner) or a PVC's (label) PetSet, as the PetSet controller's key."""
    md = obj.get("metadata", {})
    for ref in md.get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") == "PetSet":
            return "PetSet", str(md.get("namespace")), str(ref["name"])
    petset = (md.get("labels") or {}).get("kubedb.com/petset")
    return ("PetSet", str(md.get("namespace")), str(petset)) if petset else None


def settings_from(config: Config) -> OperatorSettings:
    return OperatorSettings(
        time_scale=config.get_float("time_scale"),
        provisioning_step_seconds=config.get_float("provisioning_step_seconds"),
        ops_seconds=config.get_float("ops_seconds"),
        ops_failure_probability=config.get_float("ops_failure_probability"),
        stuck_ops=config.get_strings("stuck_ops"),
        never_provision=config.get_strings("never_provision"),
        degraded=config.get_strings("degraded"),
        unhealthy=config.get_strings("unhealthy"),
        crashloop_pods=config.get_strings("crashloop_pods"),
        pending_pvcs=config.get_strings("pending_pvcs"),
        failing_volume_expansions=config.get_strings("failing_volume_expansions"),
    )


class ClientCluster:
    """The operator model's `Cluster` port over the simulator's in-process client; its
    writes skip admission (the operator does not validate its own status writes)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return await self._client.find(plural, name, namespace=namespace)

    async def peek(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return await self._client.find(plural, name, namespace=namespace, copy=False)

    async def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return await self._client.list(plural, namespace=namespace)

    async def create(self, plural: str, namespace: str | None, obj: dict[str, Any]) -> bool:
        try:
            await self._client.create(obj, namespace=namespace, admission=False)
        except errors.AlreadyExists:
            return False
        return True

    async def merge_patch(
        self, plural: str, namespace: str | None, name: str, patch: dict[str, Any]
    ) -> None:
        try:
            await self._client.patch(plural, name, patch, namespace=namespace, admission=False)
        except errors.NotFound as exc:
            raise ClusterError(str(exc)) from exc

    async def replace_status(
        self, plural: str, namespace: str | None, name: str, status: dict[str, Any]
    ) -> None:
        for _ in range(5):
            stored = await self._client.find(plural, name, namespace=namespace, copy=False)
            if stored is None:
                raise ClusterError(f"{plural} {namespace}/{name} is gone")
            try:  # the client copies the body it is given: a shallow one is enough
                await self._client.update_status({**stored, "status": status}, admission=False)
                return
            except errors.Conflict:
                continue
            except errors.NotFound as exc:
                raise ClusterError(str(exc)) from exc
        raise ClusterError(f"{plural} {namespace}/{name} keeps changing")

    async def delete(self, plural: str, namespace: str | None, name: str) -> None:
        await self._client.delete(
            plural, name, namespace=namespace, admission=False, missing_ok=True
        )


class _Lookups:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def version(self, kind: str, name: str) -> dict[str, Any] | None:
        return await self._client.find(kind, name, namespace=None)

    async def versions(self, kind: str) -> list[dict[str, Any]]:
        return await self._client.list(kind, namespace=None)


def _denied(exc: webhooks.Denied) -> errors.ApiError:
    if exc.reason == "Invalid":
        return errors.Invalid(
            exc.message,
            causes=[
                errors.Cause(c["field"], c["message"], c.get("reason", "FieldValueInvalid"))
                for c in exc.causes
            ],
        )
    return errors.Forbidden(exc.message)


class DatabaseWebhook:
    """Mutating + validating webhook of the database kinds."""

    def __init__(self, client: Client) -> None:
        self._lookups = _Lookups(client)

    async def admit(self, request: AdmissionRequest) -> None:
        if request.subresource == "status":
            return
        kind = request.kind
        try:
            if request.operation == "DELETE":
                if request.old_object is not None:
                    webhooks.validate_database_delete(kind, request.old_object)
                return
            obj = request.object
            assert obj is not None
            if request.operation == "CREATE":
                webhooks.mutate_database(kind, obj)
            elif (obj.get("metadata") or {}).get("deletionTimestamp"):
                return  # finalizer removal while terminating: nothing to validate
            else:
                webhooks.mutate_database_update(obj)
            catalog_objects = await self._catalog(kind)
            webhooks.validate_database(
                kind,
                obj,
                request.old_object,
                lambda k, n: catalog_objects.get(n) if k == BY_KIND[kind].version_kind else None,
            )
        except webhooks.Denied as exc:
            raise _denied(exc) from None

    async def _catalog(self, kind: str) -> dict[str, dict[str, Any]]:
        version_kind = BY_KIND[kind].version_kind
        return {o["metadata"]["name"]: o for o in await self._lookups.versions(version_kind)}


class OpsWebhook:
    """Validating webhook of the OpsRequest kinds."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._lookups = _Lookups(client)

    async def admit(self, request: AdmissionRequest) -> None:
        if request.subresource == "status" or request.operation == "DELETE":
            return
        obj = request.object
        assert obj is not None
        try:
            if request.operation == "UPDATE":
                if request.old_object is not None:
                    webhooks.validate_ops_update(request.kind, request.old_object, obj)
                return
            engine = next(e for e in OPS_ENGINES if e.ops_kind == request.kind)
            db_name = ((obj.get("spec") or {}).get("databaseRef") or {}).get("name")
            database = (
                await self._client.find(engine.plural, str(db_name), namespace=request.namespace)
                if db_name
                else None
            )
            versions = await self._lookups.versions(engine.version_kind)
            by_name = {o["metadata"]["name"]: o for o in versions}
            webhooks.validate_ops_create(
                request.kind,
                obj,
                database,
                lambda _kind, name: by_name.get(name),
                lambda _kind: list(versions),
            )
        except webhooks.Denied as exc:
            raise _denied(exc) from None


def _add_schemas(sim: Simulator) -> None:
    """The structural schemas: writes of these kinds are pruned and validated before the
    webhooks below see them (the webhooks keep the semantic rules)."""
    for kind in schemas.DATABASE_KINDS:
        sim.add_schema(schemas.API_VERSION, kind, schemas.database(kind))
    for engine in OPS_ENGINES:
        sim.add_schema(
            f"{OPS_GROUP}/{OPS_VERSION}", engine.ops_kind, ops_schemas.ops_request(engine.ops_kind)
        )
    for version_kind in ops_schemas.CATALOG_REQUIRED:
        sim.add_schema(
            f"{CATALOG_GROUP}/{CATALOG_VERSION}",
            version_kind,
            ops_schemas.catalog_version(version_kind),
        )


def _now() -> datetime:
    return datetime.now(UTC)


def install(sim: Simulator) -> None:
    for knob in KNOBS:
        sim.config.register(knob)
    for rt in (REDIS_SENTINEL, PETSET, APPBINDING):
        if sim.registry.by_path(rt.group, rt.version, rt.plural) is None:
            sim.registry.add(rt)
    _add_schemas(sim)
    for obj in catalog.to_objects(catalog.load(sim.catalog_path)):
        sim.seed(obj)
    webhook_client = sim.client(user="system:kubedb-webhook", admission=False)
    for engine in ENGINES:
        sim.add_admission_hook(DatabaseWebhook(webhook_client), group=DB_GROUP, kind=engine.kind)
    for engine in OPS_ENGINES:
        sim.add_admission_hook(OpsWebhook(webhook_client), group=OPS_GROUP, kind=engine.ops_kind)

    plane = dataplane.install(sim, ClientCluster)
    backup.install(sim, ClientCluster)
    archiver.install(sim, ClientCluster, plane)

    async def provisioner(ctx: ControllerContext) -> None:
        model = _Model(ctx, plane)
        await runner.run(
            ctx,
            [(e.plural, e.kind) for e in ENGINES],
            model.provision,
            related=[("petsets", _database_of), ("restoresessions", target_key)],
        )

    async def petset_controller(ctx: ControllerContext) -> None:
        model = _Model(ctx, plane)
        await runner.run(
            ctx,
            [("petsets", "PetSet")],
            model.run_petset,
            related=[("pods", _petset_of), ("persistentvolumeclaims", _petset_of)],
        )

    async def ops_manager(ctx: ControllerContext) -> None:
        model = _Model(ctx, plane)
        await runner.run(ctx, [(e.ops_plural, e.ops_kind) for e in OPS_ENGINES], model.run_ops)

    sim.add_controller("kubedb-provisioner", provisioner)
    sim.add_controller("kubedb-ops-manager", ops_manager)
    sim.add_controller("petset-controller", petset_controller)


class _Model:
    """Builds the controllers with settings read afresh on every reconcile (knobs change)."""

    def __init__(self, ctx: ControllerContext, plane: DataPlane) -> None:
        self._ctx = ctx
        self._plane = plane
        self._cluster = ClientCluster(ctx.client)
        self._rng: random.Random = ctx.random
        self._timeline = Timeline(asyncio.get_running_loop().time)
        self._recorder = Recorder(self._cluster, _now)
        self._offshoots = Offshoots(self._cluster, self._recorder, self._rng)
        self._ensured: dict[tuple[str, str, str], int] = {}

    async def provision(self, kind: str, namespace: str, name: str) -> float | None:
        provisioner = Provisioner(
            self._cluster,
            settings_from(self._ctx.config),
            offshoots=self._offshoots,
            recorder=self._recorder,
            ensured=self._ensured,
            rng=self._rng,
            now=_now,
            timeline=self._timeline,
        )
        return await provisioner.reconcile(kind, namespace, name)

    async def run_ops(self, kind: str, namespace: str, name: str) -> float | None:
        manager = OpsManager(
            self._cluster,
            settings_from(self._ctx.config),
            offshoots=self._offshoots,
            recorder=self._recorder,
            rng=self._rng,
            now=_now,
            timeline=self._timeline,
        )
        return await manager.reconcile(kind, namespace, name)

    async def run_petset(self, _kind: str, namespace: str, name: str) -> float | None:
        controller = PetSetController(
            self._cluster,
            settings_from(self._ctx.config),
            recorder=self._recorder,
            rng=self._rng,
            now=_now,
            timeline=self._timeline,
            server=self._plane.readiness,
        )
        return await controller.reconcile(namespace, name)
