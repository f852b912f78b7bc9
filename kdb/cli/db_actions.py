"""`kdb db scale|pause|resume|restart|upgrade|rotate` (changes, followed to their end) and
`kdb db upgrades|credentials|events|operations` (reads) on one database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from kdb.cli import completion, mutations, output
from kdb.cli.context import common, state
from kdb.cli.db_commands import db

if TYPE_CHECKING:
    from kdb.sdk.databases import Databases
    from kdb.sdk.models import Database

Action = Callable[["Databases", str, str | None], "Database"]


def _change(name: str, action: Action, wait: bool, timeout: float, key: str | None) -> None:
    current = state()
    databases = current.databases()
    found = databases.find(name)
    mutations.run(
        current,
        lambda k: action(databases, found.id, k),
        wait=wait,
        timeout=timeout,
        idempotency_key=key,
    )


@db.command()
@completion.database_name
@click.option("--replicas", type=click.IntRange(1, 9), help="Horizontal: the replica count.")
@click.option(
    "--storage-gb", type=click.IntRange(1, 10000), help="Grow the volume (never shrinks)."
)
@click.option("--size", help="Vertical: a plan from `kdb sizes`.")
@mutations.options
@common
def scale(
    name: str,
    replicas: int | None,
    storage_gb: int | None,
    size: str | None,
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
) -> None:
    """Scale a database: replicas, storage or size."""
    if replicas is None and storage_gb is None and size is None:
        raise click.UsageError("give --replicas, --storage-gb or --size")
    _change(
        name,
        lambda dbs, id_, key: dbs.scale(
            id_, replicas=replicas, storage_gb=storage_gb, size=size, idempotency_key=key
        ),
        wait,
        timeout,
        idempotency_key,
    )


def _simple(verb: str, summary: str, call: Action) -> None:
    @db.command(name=verb, help=summary)
    @completion.database_name
    @mutations.options
    @common
    def command(name: str, wait: bool, timeout: float, idempotency_key: str | None) -> None:
        _change(name, call, wait, timeout, idempotency_key)


_simple(
    "pause",
    "Pause a running database (its data is kept).",
    lambda d, i, k: d.pause(i, idempotency_key=k),
)
_simple("resume", "Resume a paused database.", lambda d, i, k: d.resume(i, idempotency_key=k))
_simple("restart", "Restart a database's pods.", lambda d, i, k: d.restart(i, idempotency_key=k))
_simple(
    "rotate",
    "Rotate a database's password (then `kdb db credentials`).",
    lambda d, i, k: d.rotate_credentials(i, idempotency_key=k),
)


@db.command()
@completion.database_name
@click.argument("target_version")
@mutations.options
@common
def upgrade(
    name: str, target_version: str, wait: bool, timeout: float, idempotency_key: str | None
) -> None:
    """Upgrade a database to TARGET_VERSION (see `kdb db upgrades`)."""
    _change(
        name,
        lambda dbs, id_, key: dbs.upgrade(id_, target_version, idempotency_key=key),
        wait,
        timeout,
        idempotency_key,
    )


@db.command()
@completion.database_name
@common
def upgrades(name: str) -> None:
    """The versions a database may be upgraded to."""
    current = state()
    databases = current.databases()
    output.emit(current, databases.upgrades(databases.find(name).id).to_json())


@db.command()
@completion.database_name
@common
def credentials(name: str) -> None:
    """User name, password, host, port and connection string (audited)."""
    current = state()
    databases = current.databases()
    output.emit(current, databases.credentials(databases.find(name).id).to_json())


@db.command()
@completion.database_name
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def events(name: str, page: int, page_size: int) -> None:
    """A database's lifecycle events, newest first."""
    current = state()
    databases = current.databases()
    found = databases.events(databases.find(name).id, page=page, page_size=page_size)
    output.emit(current, found.to_json(), "event")


@db.command()
@completion.database_name
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def operations(name: str, page: int, page_size: int) -> None:
    """A database's operations, newest first."""
    current = state()
    databases = current.databases()
    found = databases.operations(databases.find(name).id, page=page, page_size=page_size)
    output.emit(current, found.to_json(), "operation")
