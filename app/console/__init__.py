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
    app.mount(f"{pages.PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(signing.router)
    app.include_router(database_lists.router)
    app.include_router(databases.router)
    # Before database_page: its POST …/{id}/{action} would take …/{id}/backups and refuse it.
    app.include_router(backups.router)
    app.include_router(backup_restore.router)
    app.include_router(database_changes.router)  # before database_page's POST …/{action}
    app.include_router(database_page.router)
    app.include_router(admin.router)
    app.include_router(audit.router)
    app.include_router(keys.router)
    app.include_router(operations.router)
    app.include_router(_fallback)

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
