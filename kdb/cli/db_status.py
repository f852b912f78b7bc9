"""`kdb db status NAME`: a database's observed state (phase, ready/desired replicas,
endpoint) as the API's status sync last read it from the cluster, and when."""

from __future__ import annotations

from kdb.cli import admin_columns, completion, output
from kdb.cli.context import common, state
from kdb.cli.db_commands import db

assert admin_columns  # its columns print the status


@db.command()
@completion.database_name
@common
def status(name: str) -> None:
    """Observed state of a database, as last synced from the cluster."""
    current = state()
    databases = current.databases()
    found = databases.find(name)
    output.emit(current, databases.status(found.id).to_json(), "status")
