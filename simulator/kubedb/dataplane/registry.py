"""The kinds that get a real server on this machine, each with its adapter, pid file, the
address the AppBinding publishes, and the primary pod it runs behind: one table, read by
`plane` and `controller`. Postgres and Redis always (their servers come with wheels);
MariaDB and MySQL (both on a MariaDB server) only where `mariadbd` is installed.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.kubedb.dataplane import mariadb, postgres, redis
from simulator.kubedb.dataplane.port import ServerEngine
from simulator.kubedb.engines import BY_KIND

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Real:
    engine: ServerEngine
    pid_file: Callable[[Path], Path]
    url: str
    """The AppBinding's `clientConfig.url`, `{port}` filled in."""
    marker: Callable[[Path], str]
    """What the command line of the folder's server holds (orphans after a crash)."""
    stop_signal: signal.Signals = signal.SIGTERM
    """How a server left by a crash is stopped: the way the adapter stops its own."""


def _datadir(folder: Path) -> str:
    return str(folder / "data")


def real_kinds() -> dict[str, Real]:
    """The table as this machine allows it (`REAL` is it, taken once at import)."""
    table = {
        "Postgres": Real(
            postgres.Postgres(),
            postgres.pid_file,
            "postgresql://127.0.0.1:{port}/postgres",
            _datadir,
            postgres.STOP_SIGNAL,
        ),
        "Redis": Real(
            redis.Redis(),
            redis.pid_file,
            "redis://127.0.0.1:{port}",
            lambda _: "redis-server",
            redis.STOP_SIGNAL,
        ),
    }
    if mariadb.available():
        server = mariadb.MariaDB()
        for kind in ("MariaDB", "MySQL"):
            table[kind] = Real(server, mariadb.pid_file, "mysql://127.0.0.1:{port}", _datadir)
    return table


REAL = real_kinds()
ENGINES: dict[str, ServerEngine] = {kind: real.engine for kind, real in REAL.items()}
_BY_NAME_LABEL = {f"{BY_KIND[kind].plural}.kubedb.com": kind for kind in REAL}


def primary_of(pod: dict[str, Any]) -> Key | None:
    """The database whose primary pod (`<db>-0`) this is, for a kind with a real server."""
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    instance = labels.get("app.kubernetes.io/instance")
    kind = _BY_NAME_LABEL.get(str(labels.get("app.kubernetes.io/name")))
    if kind is None or not instance or md.get("name") != f"{instance}-0":
        return None
    return kind, str(md.get("namespace")), str(instance)
