"""`kdb op get|list|cancel|wait` (operations) and `kdb versions`, `kdb sizes` (the catalog)."""

from __future__ import annotations

import click

from kdb.cli import output
from kdb.cli.context import common, state
from kdb.cli.mutations import DEFAULT_TIMEOUT

OPERATION_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")


@click.group()
def op() -> None:
    """Operations: the asynchronous changes of databases."""


@op.command()
@click.argument("operation_id")
@common
def get(operation_id: str) -> None:
    """One operation."""
    current = state()
    output.emit(current, current.client.operations.get(operation_id).to_json(), "operation")


@op.command(name="list")
@click.option("--database-id")
@click.option("--status", type=click.Choice(OPERATION_STATUSES))
@click.option("--type", "type_", metavar="TYPE", help="create, delete, scale_horizontal, ...")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def list_(
    database_id: str | None, status: str | None, type_: str | None, page: int, page_size: int
) -> None:
    """Operations the key may see, newest first."""
    current = state()
    found = current.client.operations.list(
        database_id=database_id, status=status, type=type_, page=page, page_size=page_size
    )
    output.emit(current, found.to_json(), "operation")


@op.command()
@click.argument("operation_id")
@click.option("--idempotency-key", metavar="KEY")
@common
def cancel(operation_id: str, idempotency_key: str | None) -> None:
    """Cancel a queued or waiting operation."""
    current = state()
    cancelled = current.client.operations.cancel(operation_id, idempotency_key=idempotency_key)
    output.emit(current, cancelled.to_json(), "operation")


@op.command()
@click.argument("operation_id")
@click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT, show_default=True)
@common
def wait(operation_id: str, timeout: float) -> None:
    """Follow an operation to its end; exit 1 when it fails."""
    from kdb.cli import waiting

    current = state()
    ended = waiting.follow(current.client, operation_id, timeout=timeout)
    output.emit(current, ended.to_json(), "operation")


@click.command()
@click.option("--engine", type=click.Choice(("postgres", "mysql", "mariadb", "mongodb", "redis")))
@common
def versions(engine: str | None) -> None:
    """Versions offered, per engine."""
    current = state()
    output.emit(current, [v.to_json() for v in current.client.versions(engine)], "version")


@click.command()
@common
def sizes() -> None:
    """Size plans (CPU and memory)."""
    current = state()
    output.emit(current, [s.to_json() for s in current.client.sizes()], "size")
