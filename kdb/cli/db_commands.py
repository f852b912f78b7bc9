"""`kdb db create|list|get|update|delete`: a project's databases.

A database is named by its name (or its `db-` id); the project is `--domain`/`--project`
(or their variables, or the profile). Only the options given are sent: the API's defaults
(API.md, "Create body") apply to the rest.
"""

from __future__ import annotations

from typing import Any

import click

from kdb.cli import completion, mutations, output
from kdb.cli.context import common, state

ENGINES = ("postgres", "mysql", "mariadb", "mongodb", "redis")
STATUSES = (
    "pending",
    "provisioning",
    "running",
    "updating",
    "scaling",
    "pausing",
    "paused",
    "resuming",
    "deleting",
    "deleted",
    "failed",
)


@click.group()
def db() -> None:
    """Databases of a project: create, read, change, delete, connect."""


def pairs(values: tuple[str, ...], option: str) -> dict[str, str] | None:
    """`--label k=v` values as a mapping (None when none was given)."""
    if not values:
        return None
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        found[key] = rest
    return found


def given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@db.command()
@click.argument("name")
@click.option("--engine", required=True, type=click.Choice(ENGINES))
@click.option("--version", "version", required=True, help="A version from `kdb versions`.")
@click.option("--size", help="A plan from `kdb sizes` (API default: db.t3.micro).")
@click.option("--storage-gb", type=click.IntRange(1, 10000))
@click.option("--replicas", type=click.IntRange(1, 9))
@click.option("--ha/--no-ha", "high_availability", default=None, help="The engine's HA topology.")
@click.option("--backup/--no-backup", "backup_enabled", default=None)
@click.option("--backup-schedule", help="hourly, daily, weekly or a cron expression.")
@click.option("--backup-retention-days", type=click.IntRange(1, 365))
@click.option("--backup-storage", help="A storage's name (default: the default storage).")
@click.option("--pitr/--no-pitr", "pitr_enabled", default=None, help="Point-in-time recovery.")
@click.option("--monitoring/--no-monitoring", "monitoring_enabled", default=None)
@click.option("--deletion-protection/--no-deletion-protection", default=None)
@click.option("--deletion-policy", type=click.Choice(("Delete", "WipeOut", "Halt")))
@click.option("--username", help="A custom user name (default: generated).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE")
@click.option("--annotation", "annotations", multiple=True, metavar="KEY=VALUE")
@click.option("--region", help="Place it on a provider of this region.")
@click.option("--availability-zone")
@mutations.options
@common
def create(
    name: str,
    engine: str,
    version: str,
    labels: tuple[str, ...],
    annotations: tuple[str, ...],
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
    **fields: Any,
) -> None:
    """Create the database NAME and wait until it runs."""
    body = given(**fields) | given(
        labels=pairs(labels, "--label"), annotations=pairs(annotations, "--annotation")
    )
    current = state()
    databases = current.databases()
    mutations.run(
        current,
        lambda key: databases.create(
            name, engine=engine, version=version, idempotency_key=key, **body
        ),
        wait=wait,
        timeout=timeout,
        idempotency_key=idempotency_key,
    )


@db.command(name="list")
@click.option("--engine", type=click.Choice(ENGINES))
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--name", help="Names starting with this.")
@click.option("--label", metavar="KEY=VALUE")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def list_(**filters: Any) -> None:
    """The project's databases, newest first."""
    current = state()
    page = current.databases().list(**filters)
    output.emit(current, page.to_json(), "database")
    shown = (page.page - 1) * page.page_size + len(page.items)
    if current.output in ("table", "wide") and page.total > shown:
        click.echo(f"{shown} of {page.total}: --page {page.page + 1} for more", err=True)


@db.command()
@completion.database_name
@common
def get(name: str) -> None:
    """One database, by name or id."""
    current = state()
    output.emit(current, current.databases().find(name).to_json(), "database")


@db.command()
@completion.database_name
@click.option("--size")
@click.option("--storage-gb", type=click.IntRange(1, 10000))
@click.option("--replicas", type=click.IntRange(1, 9))
@click.option("--version", "version")
@click.option("--backup/--no-backup", "backup_enabled", default=None)
@click.option("--backup-schedule")
@click.option("--backup-retention-days", type=click.IntRange(1, 365))
@click.option("--monitoring/--no-monitoring", "monitoring_enabled", default=None)
@click.option("--deletion-protection/--no-deletion-protection", default=None)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Replaces the labels.")
@mutations.options
@common
def update(
    name: str,
    labels: tuple[str, ...],
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
    **fields: Any,
) -> None:
    """Change a database's desired state (several changes run in order)."""
    changes = given(**fields) | given(labels=pairs(labels, "--label"))
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    current = state()
    databases = current.databases()
    found = databases.find(name)
    mutations.run(
        current,
        lambda key: databases.update(found.id, idempotency_key=key, **changes),
        wait=wait,
        timeout=timeout,
        idempotency_key=idempotency_key,
    )


@db.command()
@completion.database_name
@click.option("--final-backup", is_flag=True, help="Take a last backup before deleting.")
@mutations.options
@common
def delete(
    name: str, final_backup: bool, wait: bool, timeout: float, idempotency_key: str | None
) -> None:
    """Delete a database (its record stays, with status `deleted`)."""
    current = state()
    databases = current.databases()
    found = databases.find(name)
    mutations.run(
        current,
        lambda key: databases.delete(found.id, final_backup=final_backup, idempotency_key=key),
        wait=wait,
        timeout=timeout,
        idempotency_key=idempotency_key,
    )
