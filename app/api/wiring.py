"""The services the API calls, built once by `app.main`'s lifespan and kept in one place.

    app.main (lifespan) ── builds ──► Services ── attach(app, ·) ──► app's state `services`
    routers ◄── Annotated[DatabaseService, Depends(deps.databases)] ◄── of(app)
    auth, idempotency, middleware ◄── of(app)

This module is the only one under `app.api` that knows where the object is kept; routers
take what they need through the typed dependencies in `app.api.deps`. Must not: build a
service (that is `app.main`'s job) or hold anything but services and their registries.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

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
from app.services.rate_limits import RateLimiter
from app.services.telemetry import GaugeSampler

_ATTRIBUTE = "services"


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """Everything a request may call, one instance per running app."""

    databases: DatabaseService
    backups: BackupService
    database_lists: DatabaseLists
    operations: OperationService
    catalog: CatalogService
    providers: ProviderService
    backup_storages: BackupStorageService
    quotas: Quotas
    audit: AuditLog
    api_keys: ApiKeyService
    idempotency: IdempotencyStore
    rate_limiter: RateLimiter  # per API key
    anonymous_rate_limiter: RateLimiter  # per client address, requests without a valid key
    health: HealthService
    gauges: GaugeSampler
    metrics: Metrics


def attach(app: Starlette, services: Services) -> None:
    """Keep `services` in the app's state (as `services`) for the requests it serves."""
    setattr(app.state, _ATTRIBUTE, services)


def of(app: Starlette) -> Services | None:
    """The app's services, or None before its lifespan has built them."""
    found: Services | None = getattr(app.state, _ATTRIBUTE, None)
    return found
