"""`python -m app`: read settings (one line and exit 2 on a bad value), set up logging, serve."""

from __future__ import annotations

import sys

import uvicorn

from app.config.settings import ConfigError, load_settings
from app.main import create_app
from app.observability.log import configure_logging
from app.store import sqlite_lock


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"kubedb-dbaas: {exc}", file=sys.stderr)
        return 2
    if not settings.mongodb_url:
        # Held for the process's life, before anything under DATA_DIR (Redis too) starts.
        try:
            sqlite_lock.acquire(settings.sqlite_path)
        except sqlite_lock.StoreLocked as exc:
            print(f"kubedb-dbaas: {exc}", file=sys.stderr)
            return 1
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, instance_id=settings.instance_id
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # our pipeline (app.observability.log) renders uvicorn's records too
        lifespan="on",
        access_log=False,  # the request middleware writes it (app.observability.access_log)
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace / 2)),
        server_header=False,
        # Proxy headers are read by app.api.edge, from FORWARDED_ALLOW_IPS only (uvicorn's own
        # handling believes 127.0.0.1 unless told otherwise).
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
