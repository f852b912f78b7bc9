"""The web console (`/console`): server-rendered pages over the services the API uses.

install(app, settings)   routes, static assets, `/` → `/console` (with the app)
attach(app, redis, ...)  sessions in Redis (in the lifespan, once Redis is connected)
"""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.api.route_groups import RouteGroup
from app.console import (
    admin,
    audit,
    backup_restore,
    backups,
    database_changes,
    database_lists,
    database_page,
    databases,
    keys,
    operations,
    pages,
    signing,
)
from app.console.sessions import ConsoleSessions

STATIC = Path(__file__).parent / "static"
_fallback = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)


@_fallback.get("/{path:path}")
async def not_found(path: str) -> Response:
    return pages.error_page(404, f"there is no console page at /console/{path}")


def install(app: FastAPI) -> None:
    """The console's routes, as one group tried only for paths under /console (placed
    first: an API request passes it with one string test, `app.api.route_groups`)."""
    pages_ = APIRouter()
    pages_.mount(f"{pages.PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    pages_.include_router(signing.router)
    pages_.include_router(database_lists.router)
    pages_.include_router(databases.router)
    # Before database_page: its POST …/{id}/{action} would take …/{id}/backups and refuse it.
    pages_.include_router(backups.router)
    pages_.include_router(backup_restore.router)
    pages_.include_router(database_changes.router)  # before database_page's POST …/{action}
    pages_.include_router(database_page.router)
    pages_.include_router(admin.router)
    pages_.include_router(audit.router)
    pages_.include_router(keys.router)
    pages_.include_router(operations.router)
    pages_.include_router(_fallback)
    app.router.routes.insert(0, RouteGroup(pages.PREFIX, pages_.routes))

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse(pages.PREFIX, status_code=307)


def attach(app: FastAPI, redis: aioredis.Redis, *, prefix: str, ttl: int, data_dir: Path) -> None:
    pages.attach(
        app,
        pages.ConsoleState(
            sessions=ConsoleSessions(redis, prefix=prefix, ttl=ttl),
            key_file=data_dir / "admin-api-key",
        ),
    )
