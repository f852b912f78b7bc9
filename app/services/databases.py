"""The database use cases: validate a request, write the record, submit its operation.

The record holds what a database *is*; a mutation does not change it up front but submits
an operation whose `desired_state` says what it should become (docs/database-operations.md):
the handlers write the record once the cluster has done it. One active operation per
database is the store's rule; a second mutation gets `Conflict("operation_in_progress")`.

Its errors are the `DatabaseError` branch of the service tree (`app.services.errors`, with
the status each answers): NotFound, Gone (database_deleted), Conflict (duplicate_name,
operation_in_progress, deletion_protected, not_ready, database_<status>), RuleViolated
(naming the rule and its field), OverQuota (quota_exceeded), Unavailable (the catalog or
cluster cannot be read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.cluster import errors as cluster_errors
from app.cluster.gateway import Credentials, KubeGateway
from app.domain import clock, engines, validation
from app.domain import errors as domain_errors
from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.domain.manifests import labels, names
from app.domain.namespaces import namespace_for
from app.domain.operations import Operation, OperationType
from app.domain.providers import Demand, NoProvider, Provider
from app.domain.quotas import Excess
from app.domain.sizes import SizeTable
from app.observability.log import get_logger
from app.services import operations, placement
from app.services.catalog import CatalogService, CatalogUnavailable
from app.services.clusters import ClusterFleet, ClusterUnavailable
from app.services.errors import ServiceError
from app.services.operations import OperationService
from app.services.placement import Placement
from app.services.quotas import QuotaExceeded
from app.store import errors as store_errors
from app.store.protocols import Page, Store

log = get_logger(__name__)


class DatabaseError(ServiceError):
    status = 400

    def __init__(self, message: str, *, code: str, details: Mapping[str, Any] | None = None):
        super().__init__(message, code=code, details=details)


class NotFound(DatabaseError):
    status = 404


class Gone(DatabaseError):
    status = 410


class Conflict(DatabaseError):
    status = 409


class RuleViolated(DatabaseError):
    status = 422

    def __init__(self, field_name: str, message: str, *, code: str = "rule_violated") -> None:
        super().__init__(message, code=code, details={"fields": {field_name: message}})
        self.field = field_name


class Unavailable(DatabaseError):
    status = 503


class OverQuota(DatabaseError):
    """A project's or domain's quota would be passed (429 `quota_exceeded`)."""

    status = 429

    def __init__(self, excess: Excess) -> None:
        super().__init__(
            excess.message,
            code="quota_exceeded",
            details={
                "scope": excess.scope,
                "tenant": excess.tenant,
                "limit_name": excess.limit_name,
                "limit": excess.limit,
                "usage": excess.usage,
                "requested": excess.requested,
            },
        )


@dataclass(frozen=True, slots=True)
class NewDatabase:
    name: str
    engine: str
    version: str
    size: str | None = None
    storage_gb: int = 20
    replicas: int = 1
    high_availability: bool = False
    backup_enabled: bool = True
    backup_schedule: str = "daily"
    backup_retention_days: int = 7
    monitoring_enabled: bool = True
    deletion_protection: bool = False
    deletion_policy: str = "Delete"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


# The fields that change what a database takes of its provider's capacity.
SHAPE_FIELDS = frozenset({"size", "replicas", "storage_gb"})

# What a PATCH may change, and what each means for the update handler.
PATCHABLE = frozenset(
    {
        "size",
        "storage_gb",
        "replicas",
        "version",
        "labels",
        "annotations",
        "backup_enabled",
        "backup_schedule",
        "backup_retention_days",
        "monitoring_enabled",
        "deletion_protection",
    }
)


def _no_credentials(database: Database) -> Conflict:
    """No secret to read: the database's state says why (409, not a 503: nothing is down)."""
    status = database.status
    if status in (DatabaseStatus.PENDING, DatabaseStatus.PROVISIONING):
        return Conflict(
            "the database has no credentials yet; it is being created",
            code="not_ready",
            details={"status": status.value},
        )
    return Conflict(
        f"the database is {status.value} and has no credentials to read",
        code=f"database_{status.value}",
        details={"status": status.value},
    )


def _rule(exc: domain_errors.InvalidValue) -> RuleViolated:
    return RuleViolated(exc.field, exc.message, code=getattr(exc, "code", "rule_violated"))


class DatabaseService:
    def __init__(
        self,
        store: Store,
        operations: OperationService,
        catalog: CatalogService,
        sizes: SizeTable,
        clusters: ClusterFleet,
        placement: Placement,
    ) -> None:
        self._store = store
        self._operations = operations
        self._catalog = catalog
        self._sizes = sizes
        self._clusters = clusters
        self._placement = placement

    async def _gateway(self, database: Database) -> KubeGateway:
        try:
            return await self._clusters.gateway_for(database)
        except ClusterUnavailable as exc:
            raise Unavailable(str(exc), code="cluster_unavailable") from exc

    # --- reads ---------------------------------------------------------------------

    async def get(self, domain: str, project: str, database_id: str) -> Database:
        database = await self._store.databases.get(database_id)
        if database is None or (database.domain, database.project) != (domain, project):
            raise NotFound(f"database {database_id} not found", code="not_found")
        return database

    async def events(self, database: Database, *, offset: int, limit: int) -> Page[Event]:
        return await self._store.events.list_for_database(database.id, offset=offset, limit=limit)

    async def credentials(self, database: Database) -> Credentials:
        if database.status is DatabaseStatus.DELETED:
            raise Gone(
                f"database {database.id} is deleted; its credentials went with it",
                code="database_deleted",
                details={"status": database.status.value},
            )
        if database.namespace is None:
            raise _no_credentials(database)
        secret = f"{database.kubedb_resource_name or database.name}-auth"
        gateway = await self._gateway(database)
        try:
            return await gateway.read_credentials(database.namespace, secret)
        except cluster_errors.NotFound as exc:
            raise _no_credentials(database) from exc
        except cluster_errors.ClusterError as exc:
            raise Unavailable(
                f"the cluster did not answer: {exc.message}", code="cluster_unavailable"
            ) from exc

    async def available_upgrades(self, database: Database) -> list[str]:
        try:
            return await self._catalog.upgrade_targets(
                engines.parse_engine(database.engine), database.version
            )
        except CatalogUnavailable as exc:
            raise Unavailable(str(exc), code="cluster_unavailable") from exc

    # --- create --------------------------------------------------------------------

    async def create(
        self,
        domain: str,
        project: str,
        request: NewDatabase,
        *,
        actor: str,
        region: str | None = None,
        zone: str | None = None,
    ) -> tuple[Database, Operation]:
        try:
            engine = engines.parse_engine(request.engine)
            validation.check_database_name(request.name)
            topology = validation.check_topology(
                engine, high_availability=request.high_availability
            )
            validation.check_replicas(engine, request.replicas, topology=topology)
            validation.check_storage_gb(request.storage_gb)
            size = self._sizes.get(request.size or self._sizes.default.name)
            labels = validation.check_labels(request.labels)
            annotations = validation.check_annotations(request.annotations)
            validation.check_settings(
                {
                    "backup_schedule": request.backup_schedule,
                    "backup_retention_days": request.backup_retention_days,
                }
            )
            credentials = self._custom_credentials(engine, request)
        except domain_errors.InvalidValue as exc:
            raise _rule(exc) from exc
        try:
            offered = await self._catalog.is_offered(engine, request.version)
        except CatalogUnavailable as exc:
            raise Unavailable(str(exc), code="cluster_unavailable") from exc
        if not offered:
            raise RuleViolated(
                "version",
                f"version {request.version!r} of {engine.value} is "
                "not offered; see GET /api/v1/versions",
                code="unknown_version",
            )
        database = Database(
            name=request.name,
            domain=domain,
            project=project,
            engine=engine.value,
            version=request.version,
            size=size.name,
            storage_gb=request.storage_gb,
            replicas=request.replicas,
            high_availability=request.high_availability,
            backup_enabled=request.backup_enabled,
            backup_schedule=request.backup_schedule,
            backup_retention_days=request.backup_retention_days,
            monitoring_enabled=request.monitoring_enabled,
            deletion_protection=request.deletion_protection,
            deletion_policy=request.deletion_policy,
            labels=labels,
            annotations=annotations,
            namespace=namespace_for(domain, project),
            kubedb_resource_name=request.name,
            status=DatabaseStatus.PENDING,
        )
        demand = self._placement.demand(
            size=size.name, replicas=request.replicas, storage_gb=request.storage_gb
        )
        quotas = self._placement.quotas
        await self._charge(domain, project, count=1, demand=demand)
        try:
            provider = await self._place(demand, domain=domain, region=region, zone=zone)
        except BaseException:
            await quotas.charge(domain, project, count=-1, demand=-demand, check=False)
            raise
        database = database.model_copy(
            update={
                "provider_id": provider.id,
                "counted": True,
                **placement.reserved_fields(demand),
            }
        )
        if credentials is None:
            database, operation = await self._insert_with_operation(database, demand, actor=actor)
        else:
            database, operation = await self._insert_then_submit(
                database, demand, credentials, actor=actor
            )
        await operations.after_queueing(
            operation,
            "events.append",
            self._store.events.append(
                Event(
                    database_id=database.id,
                    domain=domain,
                    project=project,
                    reason="CreateRequested",
                    message=f"create {engine.value} {request.version} requested",
                    actor=actor,
                    operation_id=operation.id,
                    to_status=DatabaseStatus.PENDING.value,
                )
            ),
            fallback=None,
        )
        return database, operation

    async def _insert_with_operation(
        self, database: Database, demand: Demand, *, actor: str
    ) -> tuple[Database, Operation]:
        """The record and its operation in one store write (issue 12, item 21)."""
        try:
            return await self._operations.submit_with_record(
                database,
                type=OperationType.CREATE.value,
                desired_state={},
                created_by=actor,
            )
        except BaseException as exc:
            if not await self._record_left(database):
                await self._give_back(database, demand)
            if isinstance(exc, store_errors.DuplicateName):
                raise Conflict(str(exc), code="duplicate_name") from exc
            raise

    async def _record_left(self, database: Database) -> bool:
        """Whether a failed create left its record (MongoDB writes it first): then the
        reconciliation pass rolls it back, capacity and quota with it. Unknown counts as
        left: capacity held a while longer, never given back twice."""
        try:
            return await self._store.databases.get(database.id) is not None
        except store_errors.StoreError:
            return True

    async def _give_back(self, database: Database, demand: Demand) -> None:
        assert database.provider_id is not None
        await self._placement.release(database.provider_id, demand)
        await self._placement.quotas.charge(
            database.domain, database.project, count=-1, demand=-demand, check=False
        )

    async def _insert_then_submit(
        self, database: Database, demand: Demand, credentials: Credentials, *, actor: str
    ) -> tuple[Database, Operation]:
        """With the user's credentials: the record first (it holds the name), then the
        secret, then the operation, so the password never reaches the store. A crash
        between leaves a record without an operation: the reconciliation pass rolls it
        back (`services.orphan_records`)."""
        try:
            await self._store.databases.insert(database)
        except BaseException as exc:
            await self._give_back(database, demand)
            if isinstance(exc, store_errors.DuplicateName):
                raise Conflict(str(exc), code="duplicate_name") from exc
            raise
        desired: dict[str, Any] = {}
        try:
            desired["auth_secret_name"] = await self._write_credentials(database, credentials)
            operation = await self._operations.submit(
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                type=OperationType.CREATE.value,
                desired_state=desired,
                created_by=actor,
            )
        except BaseException:
            # Nothing half-written: the secret and the record go, freeing the name.
            if "auth_secret_name" in desired:
                await self._forget_credentials(database, desired["auth_secret_name"])
            await self._store.databases.update_fields(
                database.id,
                {"status": DatabaseStatus.DELETED, "message": "creation could not be started"},
            )
            await self._placement.settle(database.id)
            raise
        # Queued: the answer is 202 from here on; what follows is best effort (the create
        # step writes `operation_id` again when it starts).
        database = await operations.after_queueing(
            operation,
            "databases.update_fields",
            self._store.databases.update_fields(database.id, {"operation_id": operation.id}),
            fallback=database.model_copy(update={"operation_id": operation.id}),
        )
        return database, operation

    @staticmethod
    def _custom_credentials(engine: engines.Engine, request: NewDatabase) -> Credentials | None:
        """The credentials the request brings (None: KubeDB generates them). A username alone
        is refused: the password is what makes them the user's."""
        if request.username is None and request.password is None:
            return None
        if request.password is None:
            raise domain_errors.InvalidValue(
                "password",
                "a custom username needs a password of at least "
                f"{validation.MIN_PASSWORD_LENGTH} characters",
            )
        username = request.username or engines.spec(engine).admin_user
        return Credentials(
            username=validation.check_username(engine, username),
            password=validation.check_password(request.password),
        )

    async def _charge(self, domain: str, project: str, *, count: int, demand: Demand) -> None:
        try:
            await self._placement.quotas.charge(
                domain, project, count=count, demand=demand, check=True
            )
        except QuotaExceeded as exc:
            raise OverQuota(exc.excess) from exc

    async def _place(
        self, demand: Demand, *, domain: str, region: str | None, zone: str | None
    ) -> Provider:
        try:
            return await self._placement.place(demand, domain=domain, region=region, zone=zone)
        except NoProvider as exc:
            if exc.capacity:
                raise Conflict(exc.reason, code="insufficient_capacity") from exc
            raise RuleViolated("placement", exc.reason, code="no_provider") from exc

    async def _write_credentials(self, database: Database, credentials: Credentials) -> str:
        """The database's auth secret written before its operation exists, so the password
        goes from the request to the cluster and never into the store, the queue or a log.
        KubeDB finds the secret under its default name and manages it from then on."""
        cluster = await self._gateway(database)
        namespace = database.namespace or namespace_for(database.domain, database.project)
        name = names.auth_secret_name(database.kubedb_resource_name or database.name)
        try:
            await cluster.ensure_namespace(namespace)
            await cluster.write_auth_secret(
                namespace,
                name,
                credentials,
                labels=labels.system_labels(
                    database_id=database.id, domain=database.domain, project=database.project
                ),
            )
        except cluster_errors.ClusterError as exc:
            raise Unavailable(
                f"the cluster did not take the credentials: {exc.message}",
                code="cluster_unavailable",
            ) from exc
        return name

    async def _forget_credentials(self, database: Database, secret_name: str) -> None:
        if database.namespace is None:
            return
        try:
            cluster = await self._gateway(database)
            await cluster.delete_secret(
                database.namespace,
                secret_name,
                labelled={labels.DATABASE_ID_KEY: database.id},
            )
        except (cluster_errors.ClusterError, Unavailable) as exc:  # best effort: unused
            log.warning("auth_secret_not_removed", database_id=database.id, error=str(exc))

    # --- mutations -----------------------------------------------------------------

    async def check_idle(self, database: Database) -> None:
        """409 `operation_in_progress` naming the active operation, if there is one: checked
        before any rule on the request or the state (a database mid-scale is `scaling`, and
        the client must learn it waits on an operation, not that its request is wrong)."""
        active = await self._store.operations.get_active(database.id)
        if active is not None:
            raise Conflict(
                f"database {database.id} has an operation in progress",
                code="operation_in_progress",
                details={"operation_id": active.id},
            )

    async def mutate(
        self,
        database: Database,
        op_type: OperationType,
        desired: Mapping[str, Any],
        *,
        actor: str,
        allowed_from: frozenset[DatabaseStatus] | None = None,
    ) -> tuple[Database, Operation]:
        await self.check_idle(database)
        if database.status is DatabaseStatus.DELETED:
            raise RuleViolated(
                "status", "a deleted database can only be read", code="database_deleted"
            )
        if allowed_from is not None and database.status not in allowed_from:
            wanted = " or ".join(sorted(s.value for s in allowed_from))
            raise RuleViolated(
                "status",
                f"{op_type.value} needs a {wanted} database; this one is {database.status.value}",
                code="invalid_state",
            )
        # A change that makes the database bigger reserves the growth first (409
        # `insufficient_capacity`, 429 `quota_exceeded`); `settle` squares it up when the
        # operation ends.
        target = (
            self._placement.target(database, desired) if SHAPE_FIELDS & desired.keys() else None
        )

        async def submit() -> Operation:
            return await self._operations.submit(
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                type=op_type.value,
                desired_state=dict(desired),
                created_by=actor,
            )

        try:
            operation = await self._placement.change(database, target, submit)
        except NoProvider as exc:
            raise Conflict(exc.reason, code="insufficient_capacity") from exc
        except QuotaExceeded as exc:
            raise OverQuota(exc.excess) from exc
        except store_errors.OperationInProgress as exc:
            raise Conflict(
                f"database {database.id} has an operation in progress",
                code="operation_in_progress",
                details={"operation_id": exc.operation_id},
            ) from exc
        fields = {"operation_id": operation.id, "updated_at": clock.utcnow()}
        updated = await operations.after_queueing(
            operation,
            "databases.update_fields",
            self._store.databases.update_fields(database.id, fields),
            fallback=database.model_copy(update=fields),
        )
        return updated, operation

    async def delete(self, database: Database, *, actor: str) -> tuple[Database, Operation]:
        await self.check_idle(database)
        if database.deletion_protection:
            raise Conflict(
                f"database {database.id} is protected from deletion; set deletion_protection "
                "to false first",
                code="deletion_protected",
            )
        return await self.mutate(database, OperationType.DELETE, {}, actor=actor)

    def check_scale(self, database: Database, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Validate scale/patch values against the rules; the changes that differ."""
        engine = engines.parse_engine(database.engine)
        result: dict[str, Any] = {}
        try:
            if "replicas" in changes and changes["replicas"] != database.replicas:
                topology = validation.check_topology(
                    engine, high_availability=database.high_availability
                )
                result["replicas"] = validation.check_replicas(
                    engine, int(changes["replicas"]), topology=topology
                )
            if "storage_gb" in changes and changes["storage_gb"] != database.storage_gb:
                result["storage_gb"] = validation.check_storage_growth(
                    database.storage_gb, int(changes["storage_gb"])
                )
            if "size" in changes and changes["size"] != database.size:
                result["size"] = self._sizes.get(str(changes["size"])).name
            settings = validation.check_settings(changes)
        except domain_errors.InvalidValue as exc:
            raise _rule(exc) from exc
        for name, value in settings.items():
            if name in ("labels", "annotations") or value != getattr(database, name):
                result[name] = value
        return result

    async def check_upgrade(self, database: Database, target: str) -> None:
        targets = await self.available_upgrades(database)
        if target not in targets:
            raise RuleViolated(
                "target_version",
                f"{database.engine} {database.version} cannot be upgraded to {target}; "
                f"allowed: {', '.join(targets) or 'none'}",
                code="upgrade_not_allowed",
            )
