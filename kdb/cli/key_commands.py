"""`kdb key list|create|get|revoke`: API keys (admin keys: all; owner keys: their scope; any
key: itself).

`key create` prints the new secret once: alone on stdout (for `KEY=$(kdb key create ...)`),
with a note on stderr that it will not be shown again; `-o json|yaml` prints the whole
answer, the secret included. The secret is never stored by kdb nor shown by another command.
"""

from __future__ import annotations

from typing import Any

import click

from kdb.cli import admin_columns, output, paging
from kdb.cli.context import common, state

ROLES = ("admin", "owner", "member", "viewer")
assert admin_columns  # its columns print keys


@click.group()
def key() -> None:
    """API keys: create (the secret shown once), list, read, revoke."""


@key.command(name="list")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def list_(page: int, page_size: int) -> None:
    """The keys the caller manages, newest first."""
    current = state()
    found = current.client.api_keys.list(page=page, page_size=page_size)
    output.emit(current, found.to_json(), "api_key")
    paging.hint(current, found)


@key.command()
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--for-domain", "domain", help="The key's domain (not for admin keys).")
@click.option("--for-project", "project", help="The key's project (needs --for-domain).")
@common
def create(name: str, role: str, domain: str | None, project: str | None) -> None:
    """Create a key; its secret is printed this once."""
    current = state()
    issued = current.client.api_keys.create(name, role=role, domain=domain, project=project)
    if current.output in ("table", "wide") and current.query is None:
        print(issued.secret)
        click.echo(
            f"key {issued.id} ({issued.role}) created: its secret, above, is shown only once",
            err=True,
        )
        return
    output.emit(current, issued.to_json())


@key.command()
@click.argument("key_id")
@common
def get(key_id: str) -> None:
    """One key (never its secret)."""
    current = state()
    output.emit(current, current.client.api_keys.get(key_id).to_json(), "api_key")


@key.command()
@click.argument("key_id")
@common
def revoke(key_id: str) -> None:
    """Revoke a key: the API refuses its secret from now on (idempotent)."""
    current = state()
    revoked: dict[str, Any] = current.client.api_keys.revoke(key_id).to_json()
    output.emit(current, revoked, "api_key")
