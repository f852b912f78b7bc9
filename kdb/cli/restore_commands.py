"""`kdb restore` (a backup in place) and `kdb clone` (a backup, the latest one or a point in
time, into a new database): both follow their operation to the end.

A restore in place replaces the database's data, so it asks first: on a terminal a prompt,
elsewhere `--yes` is required (a script must say so; without it kdb exits 2 and changes
nothing). A clone is a create with `restore_from` (API.md): the new database takes the
source's engine and version unless `--version` says otherwise.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from kdb.cli import mutations
from kdb.cli.backup_commands import backups
from kdb.cli.context import CliError, common, state


@click.command()
@click.argument("name")
@click.option("--backup", "backup_id", required=True, metavar="ID", help="The backup (bkp-…).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask: NAME's data is replaced.")
@mutations.options
@common
def restore(
    name: str,
    backup_id: str,
    yes: bool,
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
) -> None:
    """Restore a backup into NAME in place (its current data is replaced)."""
    if not yes:
        if not sys.stdin.isatty():
            raise CliError(
                "confirmation_required",
                f"restoring {backup_id} replaces the data of {name}: pass --yes to confirm",
                exit_code=2,
            )
        click.confirm(f"Replace the data of {name} with backup {backup_id}?", abort=True)
    current = state()
    found = current.databases().find(name)
    api = backups(current)
    mutations.run(
        current,
        lambda key: api.restore(found.id, backup_id, idempotency_key=key),
        wait=wait,
        timeout=timeout,
        idempotency_key=idempotency_key,
    )


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time", ctx, param) from None
    return moment.isoformat()


@click.command()
@click.argument("source")
@click.argument("name")
@click.option("--backup", "backup_id", metavar="ID", help="Restore this backup of SOURCE.")
@click.option("--latest", is_flag=True, help="Restore SOURCE's newest succeeded backup.")
@click.option(
    "--at",
    "point_in_time",
    metavar="TIME",
    callback=_moment,
    help="Recover SOURCE to this ISO-8601 time (pitr_enabled; no zone is UTC).",
)
@click.option("--version", "version", help="Default: SOURCE's version.")
@click.option("--size", help="A plan from `kdb sizes` (API default: db.t3.micro).")
@mutations.options
@common
def clone(
    source: str,
    name: str,
    backup_id: str | None,
    latest: bool,
    point_in_time: str | None,
    version: str | None,
    size: str | None,
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
) -> None:
    """Create the database NAME from SOURCE's data (SOURCE keeps running; a deleted SOURCE
    is named by its db- id)."""
    from kdb.sdk.backups import restore_from

    if [backup_id is not None, latest, point_in_time is not None].count(True) != 1:
        raise click.UsageError("give one of --backup ID, --latest, --at TIME")
    current = state()
    databases = current.databases()
    found = databases.find(source)
    fields: dict[str, Any] = {
        "restore_from": restore_from(
            found.id, backup_id=backup_id, latest=latest, point_in_time=point_in_time
        )
    }
    if size is not None:
        fields["size"] = size
    mutations.run(
        current,
        lambda key: databases.create(
            name,
            engine=found.engine,
            version=version or found.version,
            idempotency_key=key,
            **fields,
        ),
        wait=wait,
        timeout=timeout,
        idempotency_key=idempotency_key,
    )
