"""Every router of the API, mounted in the order requests are matched.

The database routes, which take most of the traffic, come first (measured with
bench.scale: matching is a large share of a GET's cost; only the console's group, which an
API path passes with one string test, is ahead of them). Must not: build services or add
middleware (that is `app.main`'s job).
"""

from __future__ import annotations

from fastapi import FastAPI

from app.api import health
from app.api import metrics as metrics_routes
from app.api.v1 import api_keys as api_keys_routes
from app.api.v1 import audit as audit_routes
from app.api.v1 import backup_storages as backup_storage_routes
from app.api.v1 import backups as backup_routes
from app.api.v1 import catalog as catalog_routes
from app.api.v1 import database_actions as database_action_routes
from app.api.v1 import database_search as database_search_routes
from app.api.v1 import databases as database_routes
from app.api.v1 import operations as operations_routes
from app.api.v1 import providers as provider_routes
from app.api.v1 import quotas as quota_routes


def include_first(app: FastAPI) -> None:
    """The hot routes (a database, a project's list), matched before any other router: a
    well-formed GET of either by their raw route, anything else by their FastAPI routes."""
    app.router.routes.append(database_routes.fast_reads())
    app.include_router(database_routes.router)


def include(app: FastAPI) -> None:
    """Every other router, after `include_first` and the console's."""
    app.include_router(database_action_routes.router)
    app.include_router(database_search_routes.router)
    app.include_router(backup_routes.router)
    app.include_router(backup_routes.project_router)
    app.include_router(operations_routes.router)
    app.include_router(catalog_routes.router)
    app.include_router(api_keys_routes.router)
    app.include_router(provider_routes.router)
    app.include_router(backup_storage_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(quota_routes.router)
    app.include_router(health.router)
    app.include_router(metrics_routes.router)
