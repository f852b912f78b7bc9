"""`kdb db status NAME [--realtime]`: a database's observed state (phase, ready/desired
replicas, endpoint) as the API's status sync last read it from the cluster, and when; with
`--realtime` as the API reads it from the cluster now."""

from __future__ import annotations

import click

from kdb.cli import admin_columns, completion, output
from kdb.cli.context import common, state
from kdb.cli.db_commands import db

assert admin_columns  # its columns print the status


@db.command()
@completion.database_name
@click.option(
    "--realtime",
    is_flag=True,
    help="Read the cluster now instead of the last sync (exit 1 when it does not answer).",
)
@common
def status(name: str, realtime: bool) -> None:
    """Observed state of a database, as last synced from the cluster (or read now)."""
    current = state()
    databases = current.databases()
    found = databases.find(name)
    output.emit(current, databases.status(found.id, realtime=realtime).to_json(), "status")
