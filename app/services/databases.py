"""The database use cases: validate a request, write the record, submit its operation.

The record holds what a database *is*; a mutation does not change it up front but submits
an operation whose `desired_state` says what it should become (docs/database-operations.md):
the handlers write the record once the cluster has done it. One active operation per
database is the store's rule; a second mutation gets `Conflict("operation_in_progress")`.

Creation, the longest use case, is `database_creation`; the errors are the
`DatabaseError` branch of the service tree (`database_errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.cluster import errors as cluster_errors
from app.domain import clock, engines, validation
from app.domain import errors as domain_errors
from app.domain import operation_kinds as kinds
from app.domain.credentials import Credentials
from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.domain.manifests import connection
from app.domain.operation_kinds import InputT, OperationKind
from app.domain.operations import Operation
from app.domain.providers import NoProvider
from app.domain.sizes import SizeTable
from app.services import app_bindings, live_status, operations
from app.services.catalog import CatalogService, CatalogUnavailable
from app.services.clusters import ClusterFleet, ClusterUnavailable
from app.services.database_creation import DatabaseCreation, NewDatabase
from app.services.database_errors import (
    Conflict,
    Gone,
    NotFound,
    OverQuota,
    RuleViolated,
    Unavailable,
    no_credentials,
    rule_violated,
)
from app.services.operations import OperationService
from app.services.placement import Placement
from app.services.ports import ClusterGateway
from app.services.quotas import QuotaExceeded
from app.store import errors as store_errors
from app.store.protocols import Page, Store

__all__ = ["PATCHABLE", "SHAPE_FIELDS", "DatabaseService", "NewDatabase"]

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
        "backup_retention_count",
        "backup_storage",
        "pitr_enabled",
        "monitoring_enabled",
        "deletion_protection",
    }
)


class DatabaseService:
    def __init__(
        self,
        store: Store,
        operations: OperationService,
        catalog: CatalogService,
        sizes: SizeTable,
        clusters: ClusterFleet,
        placement: Placement,
        *,
        realtime_timeout: float = 5.0,
    ) -> None:
        self._store = store
        self._realtime_timeout = realtime_timeout
        self._operations = operations
        self._catalog = catalog
        self._sizes = sizes
        self._clusters = clusters
        self._placement = placement
        self._creation = DatabaseCreation(
            store, operations, catalog, sizes, placement, gateway_for=self.gateway_for
        )

    async def gateway_for(self, database: Database) -> ClusterGateway:
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

    async def live_status(self, database: Database) -> live_status.LiveStatus:
        """Its observed state read from its cluster now, not written (`live_status`)."""
        gateway = await self.gateway_for(database)
        provider = None
        if database.provider_id is not None:
            provider = await self._store.providers.get(database.provider_id)
        return await live_status.read_live(
            self._store,
            gateway,
            database,
            provider=provider.name if provider is not None else "default",
            timeout=self._realtime_timeout,
        )

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
            raise no_credentials(database)
        secret = f"{database.kubedb_resource_name or database.name}-auth"
        gateway = await self.gateway_for(database)
        try:
            return await gateway.read_credentials(database.namespace, secret)
        except cluster_errors.NotFound as exc:
            raise no_credentials(database) from exc
        except cluster_errors.ClusterError as exc:
            raise Unavailable(
                f"the cluster did not answer: {exc.message}", code="cluster_unavailable"
            ) from exc

    async def connection_details(self, database: Database) -> connection.ConnectionInfo:
        """The credentials and where they work: the AppBinding's `clientConfig.url` when it
        has one (the embedded cluster's loopback address), else the Service's DNS name."""
        secret = await self.credentials(database)
        name, namespace = database.kubedb_resource_name or database.name, database.namespace
        gateway = await self.gateway_for(database)
        try:
            binding = await app_bindings.read(gateway, namespace or "", name)
        except cluster_errors.ClusterError as exc:
            raise Unavailable(
                f"the cluster did not answer: {exc.message}", code="cluster_unavailable"
            ) from exc
        return connection.connection_info(
            database.engine,
            name=name,
            namespace=namespace or "",
            username=secret.username,
            password=secret.password,
            replicas=database.replicas,
            address=binding.address if binding else None,
        )

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
        return await self._creation.create(
            domain, project, request, actor=actor, region=region, zone=zone
        )

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
        kind: OperationKind[InputT, Any],
        wanted: InputT,
        *,
        actor: str,
        allowed_from: frozenset[DatabaseStatus] | None = None,
    ) -> tuple[Database, Operation]:
        """Submit an operation of `kind` asking for `wanted` on `database`."""
        await self.check_idle(database)
        if database.status is DatabaseStatus.DELETED:
            raise RuleViolated(
                "status", "a deleted database can only be read", code="database_deleted"
            )
        if allowed_from is not None and database.status not in allowed_from:
            needed = " or ".join(sorted(s.value for s in allowed_from))
            raise RuleViolated(
                "status",
                f"{kind.type} needs a {needed} database; this one is {database.status.value}",
                code="invalid_state",
            )
        # A change that makes the database bigger reserves the growth first (409
        # `insufficient_capacity`, 429 `quota_exceeded`); `settle` squares it up when the
        # operation ends.
        desired = kind.dump_input(wanted)
        target = (
            self._placement.target(database, desired) if SHAPE_FIELDS & desired.keys() else None
        )

        async def submit() -> Operation:
            return await self._operations.submit(
                kind,
                wanted,
                database_id=database.id,
                domain=database.domain,
                project=database.project,
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

    async def delete(
        self, database: Database, *, actor: str, final_backup_id: str | None = None
    ) -> tuple[Database, Operation]:
        await self.check_idle(database)
        if database.deletion_protection:
            raise Conflict(
                f"database {database.id} is protected from deletion; set deletion_protection "
                "to false first",
                code="deletion_protected",
            )
        return await self.mutate(
            database, kinds.DELETE, kinds.DeleteInput(final_backup_id=final_backup_id), actor=actor
        )

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
            if settings.get("pitr_enabled"):
                validation.check_pitr(engine, True)
        except domain_errors.InvalidValue as exc:
            raise rule_violated(exc) from exc
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
