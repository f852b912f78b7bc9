"""Typed dependencies: how routers reach the services (`app.api.wiring.Services`).

    service: deps.Databases        # Annotated[DatabaseService, Depends(deps.databases)]

Each is an `async def` (FastAPI runs a plain `def` dependency in a thread, which would cost
every request a thread hop). Must not: do work beyond handing a service over.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api import wiring
from app.observability.metrics import Metrics
from app.services.api_keys import ApiKeyService
from app.services.audit import AuditLog
from app.services.backup_storages import BackupStorageService
from app.services.backups import BackupService
from app.services.catalog import CatalogService
from app.services.database_lists import DatabaseLists
from app.services.databases import DatabaseService
from app.services.health import HealthService
from app.services.idempotency import IdempotencyStore
from app.services.operations import OperationService
from app.services.providers import ProviderService
from app.services.quotas import Quotas
from app.services.telemetry import GaugeSampler


class NotStarted(RuntimeError):
    """A request reached a route before the app's lifespan built its services."""


def services_of(request: Request) -> wiring.Services:
    """The running app's services; `NotStarted` before the lifespan has built them."""
    found = wiring.of(request.app)
    if found is None:
        raise NotStarted("the app's services are not built: its lifespan has not run")
    return found


async def services(request: Request) -> wiring.Services:
    return services_of(request)


async def databases(request: Request) -> DatabaseService:
    return services_of(request).databases


async def backups(request: Request) -> BackupService:
    return services_of(request).backups


async def database_lists(request: Request) -> DatabaseLists:
    return services_of(request).database_lists


async def operations(request: Request) -> OperationService:
    return services_of(request).operations


async def catalog(request: Request) -> CatalogService:
    return services_of(request).catalog


async def providers(request: Request) -> ProviderService:
    return services_of(request).providers


async def backup_storages(request: Request) -> BackupStorageService:
    return services_of(request).backup_storages


async def quotas(request: Request) -> Quotas:
    return services_of(request).quotas


async def audit(request: Request) -> AuditLog:
    return services_of(request).audit


async def api_keys(request: Request) -> ApiKeyService:
    return services_of(request).api_keys


async def idempotency(request: Request) -> IdempotencyStore:
    return services_of(request).idempotency


async def health(request: Request) -> HealthService:
    return services_of(request).health


async def gauges(request: Request) -> GaugeSampler:
    return services_of(request).gauges


async def metrics(request: Request) -> Metrics:
    return services_of(request).metrics


Services = Annotated[wiring.Services, Depends(services)]
Databases = Annotated[DatabaseService, Depends(databases)]
Backups = Annotated[BackupService, Depends(backups)]
DatabaseListing = Annotated[DatabaseLists, Depends(database_lists)]
Operations = Annotated[OperationService, Depends(operations)]
Catalog = Annotated[CatalogService, Depends(catalog)]
Providers = Annotated[ProviderService, Depends(providers)]
BackupStorages = Annotated[BackupStorageService, Depends(backup_storages)]
QuotaService = Annotated[Quotas, Depends(quotas)]
Audit = Annotated[AuditLog, Depends(audit)]
ApiKeys = Annotated[ApiKeyService, Depends(api_keys)]
Idempotency = Annotated[IdempotencyStore, Depends(idempotency)]
Health = Annotated[HealthService, Depends(health)]
Gauges = Annotated[GaugeSampler, Depends(gauges)]
Registry = Annotated[Metrics, Depends(metrics)]
