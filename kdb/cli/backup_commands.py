"""`kdb backup list|create|get|delete` and `kdb restore-window`: a project's backups.

A backup is addressed under its database (the API's paths are `…/databases/{id}/backups/
{backup_id}`), so `get` and `delete` take the database's name (or id) and the backup's id.
`backup list` with no database lists the project's, deleted databases' included. `backup
create` follows the backup's operation like every change, then prints the backup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kdb.cli import mutations, output
from kdb.cli.context import State, common, state

if TYPE_CHECKING:
    from kdb.sdk.backups import Backups


def _size(row: dict[str, Any]) -> str:
    size = row.get("size_bytes")
    return "" if size is None else f"{size} B"


def _field(name: str) -> output.Cell:
    return lambda row: row.get(name)


output.COLUMNS["backup"] = [
    ("ID", _field("id"), False),
    ("DATABASE", _field("database_name"), False),
    ("TYPE", _field("type"), False),
    ("STATUS", _field("status"), False),
    ("SIZE", _size, False),
    ("CREATED", _field("created_at"), False),
    ("COMPLETED", _field("completed_at"), True),
    ("STORAGE", _field("storage"), True),
    ("DATABASE ID", _field("database_id"), True),
    ("ERROR", _field("error"), True),
]


def backups(current: State) -> Backups:
    databases = current.databases()
    return current.client.backups(databases.domain, databases.project)


@click.group()
def backup() -> None:
    """Backups of a project's databases: list, take, read, delete."""


@backup.command(name="list")
@click.argument("name", required=False)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def list_(name: str | None, page: int, page_size: int) -> None:
    """A database's backups (by name or id), or with no NAME the project's, newest first."""
    current = state()
    database_id = current.databases().find(name).id if name else None
    found = backups(current).list(database_id, page=page, page_size=page_size)
    output.emit(current, found.to_json(), "backup")
    shown = (found.page - 1) * found.page_size + len(found.items)
    if current.output in ("table", "wide") and found.total > shown:
        click.echo(f"{shown} of {found.total}: --page {found.page + 1} for more", err=True)


@backup.command()
@click.argument("name")
@mutations.options
@common
def create(name: str, wait: bool, timeout: float, idempotency_key: str | None) -> None:
    """Take a backup of NAME now (manual: exempt from retention) and wait until it is done."""
    from kdb.cli import waiting

    current = state()
    found = current.databases().find(name)
    api = backups(current)
    started = api.take(found.id, idempotency_key=idempotency_key)
    if wait and started.operation_id is not None:
        waiting.follow(current.client, started.operation_id, timeout=timeout)
    output.emit(current, api.get(found.id, started.backup_id).to_json(), "backup")


@backup.command()
@click.argument("name")
@click.argument("backup_id")
@common
def get(name: str, backup_id: str) -> None:
    """One backup of the database NAME."""
    current = state()
    found = current.databases().find(name)
    output.emit(current, backups(current).get(found.id, backup_id).to_json(), "backup")


@backup.command()
@click.argument("name")
@click.argument("backup_id")
@click.option("--idempotency-key", metavar="KEY", help="Send this Idempotency-Key.")
@common
def delete(name: str, backup_id: str, idempotency_key: str | None) -> None:
    """Delete a manual or final backup of NAME (scheduled ones belong to retention)."""
    current = state()
    found = current.databases().find(name)
    removed = backups(current).delete(found.id, backup_id, idempotency_key=idempotency_key)
    output.emit(current, removed.to_json(), "backup")


@click.command(name="restore-window")
@click.argument("name")
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def restore_window(name: str, page_size: int) -> None:
    """What NAME can be restored to: the point-in-time window (earliest, latest, gaps;
    empty while PITR is off or its first backup is not archived) and its backups."""
    from kdb.sdk import errors

    current = state()
    found = current.databases().find(name)
    api = backups(current)
    window: dict[str, Any] = {"earliest": None, "latest": None, "gaps": []}
    try:
        window = api.restore_window(found.id).to_json()
    except errors.Conflict as e:  # pitr_not_enabled, no_restore_window
        window["reason"] = e.code
    listed = api.list(found.id, page_size=page_size).to_json()
    if current.output not in ("table", "wide") or current.query is not None:
        output.emit(current, {"database": found.name, **window, "backups": listed})
        return
    gaps = [f"{gap['from']} .. {gap['to']}" for gap in window["gaps"]]
    output.pairs({"database": found.name, **window, "gaps": gaps})
    if listed:
        click.echo()
        output.table(listed, output.COLUMNS["backup"], wide=current.output == "wide")
