"""Creating a database: validate the request, charge the quota, place it on a provider,
write the record and submit its create operation, leaving nothing half-written on failure.

With the user's own credentials the secret goes to the cluster before the operation exists,
so the password never reaches the store, the queue or a log. It must not decide anything the
create handler decides (the cluster side of provisioning lives in `handlers.provisioning`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.cluster import errors as cluster_errors
from app.domain import engines, validation
from app.domain import errors as domain_errors
from app.domain import operation_kinds as kinds
from app.domain.credentials import Credentials
from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.domain.manifests import labels, names
from app.domain.namespaces import namespace_for
from app.domain.operations import Operation
from app.domain.providers import Demand, NoProvider, Provider
from app.domain.sizes import SizeTable
from app.observability.log import get_logger
from app.services import operations, placement
from app.services.catalog import CatalogService, CatalogUnavailable
from app.services.database_errors import (
    Conflict,
    OverQuota,
    RuleViolated,
    Unavailable,
    rule_violated,
)
from app.services.operations import OperationService
from app.services.placement import Placement
from app.services.ports import ClusterGateway
from app.services.quotas import QuotaExceeded
from app.store import errors as store_errors
from app.store.protocols import Store

log = get_logger(__name__)

GatewayFor = Callable[[Database], Awaitable[ClusterGateway]]


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
    backup_retention_count: int | None = None
    backup_storage: str | None = None
    pitr_enabled: bool = False
    monitoring_enabled: bool = True
    deletion_protection: bool = False
    deletion_policy: str = "Delete"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # Resolved by `services.backups` from the request's `restore_from`.
    restore: kinds.RestoreSource | None = None


class DatabaseCreation:
    def __init__(
        self,
        store: Store,
        operations: OperationService,
        catalog: CatalogService,
        sizes: SizeTable,
        placement: Placement,
        gateway_for: GatewayFor,
    ) -> None:
        self._store = store
        self._operations = operations
        self._catalog = catalog
        self._sizes = sizes
        self._placement = placement
        self._gateway = gateway_for

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
                    "backup_retention_count": request.backup_retention_count,
                }
            )
            validation.check_pitr(engine, request.pitr_enabled)
            credentials = self._custom_credentials(engine, request)
        except domain_errors.InvalidValue as exc:
            raise rule_violated(exc) from exc
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
            backup_retention_count=request.backup_retention_count,
            backup_storage=request.backup_storage,
            pitr_enabled=request.pitr_enabled,
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
            database, operation = await self._insert_with_operation(
                database, demand, kinds.CreateInput(restore=request.restore), actor=actor
            )
        else:
            database, operation = await self._insert_then_submit(
                database, demand, credentials, restore=request.restore, actor=actor
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
        self, database: Database, demand: Demand, wanted: kinds.CreateInput, *, actor: str
    ) -> tuple[Database, Operation]:
        """The record and its operation in one store write (issue 12, item 21)."""
        try:
            return await self._operations.submit_with_record(
                database, kinds.CREATE, wanted, created_by=actor
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
        self,
        database: Database,
        demand: Demand,
        credentials: Credentials,
        *,
        restore: kinds.RestoreSource | None,
        actor: str,
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
        secret: str | None = None
        try:
            secret = await self._write_credentials(database, credentials)
            operation = await self._operations.submit(
                kinds.CREATE,
                kinds.CreateInput(auth_secret_name=secret, restore=restore),
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                created_by=actor,
            )
        except BaseException:
            # Nothing half-written: the secret and the record go, freeing the name.
            if secret is not None:
                await self._forget_credentials(database, secret)
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
