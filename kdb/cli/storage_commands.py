"""`kdb backup-storage list|get|create|update|delete`: where databases' backups go (admin
keys; other keys exit 5).

A storage is named by its name and has a kind (the API's `provider`): `local` (a folder the
platform chooses, shown as its path), `s3`, `gcs` or `azure` (a `--bucket`; the container on
azure). Credentials are never a flag value and never printed: they come from
`--credentials-file FILE`, a JSON object of the API's credential fields (`-` reads it from
standard input), or from a hidden prompt on a terminal:

    {"access_key_id": "AKIA...", "secret_access_key": "..."}       s3
    {"project_id": "...", "service_account_json": {...}}           gcs (the key file's JSON)
    {"storage_account": "...", "account_key": "..."}               azure

These changes take effect at once: there is no operation to wait for.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from kdb.cli import output, paging
from kdb.cli.context import CliError, common, state
from kdb.cli.db_commands import given
from kdb.cli.output import Cell, Row

KINDS = ("local", "s3", "gcs", "azure")
# The credential fields of each kind, in the order a prompt asks for them (API.md).
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "local": (),
    "s3": ("access_key_id", "secret_access_key"),
    "gcs": ("project_id", "service_account_json"),
    "azure": ("storage_account", "account_key"),
}


def _field(name: str) -> Cell:
    return lambda row: row.get(name)


def _where(row: Row) -> Any:
    """A cloud storage's bucket, a local one's folder."""
    return row.get("bucket") or row.get("path")


output.COLUMNS["backup_storage"] = [
    ("NAME", _field("name"), False),
    ("KIND", _field("provider"), False),
    ("BUCKET/PATH", _where, False),
    ("PREFIX", _field("prefix"), False),
    ("DEFAULT", lambda row: "yes" if row.get("default") else "", False),
    ("CREDENTIALS", lambda row: "yes" if row.get("has_credentials") else "", False),
    ("REGION", _field("region"), True),
    ("ENDPOINT", _field("endpoint"), True),
    ("ID", _field("id"), True),
    ("CREATED", _field("created_at"), True),
]


@click.group(name="backup-storage")
def backup_storage() -> None:
    """Backup storages: where databases' backups go (admin keys)."""


def read_credentials(source: str) -> dict[str, str]:
    """The credentials of a `--credentials-file` (`-`: standard input): a JSON object of
    strings; an object value (a gcs key file) is sent as its JSON text."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CliError("bad_credentials", f"cannot read {source}: {e}", exit_code=2) from e
    try:
        found = json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(
            "bad_credentials", f"{source} is not a JSON object: {e.msg}", exit_code=2
        ) from e
    if not isinstance(found, dict) or not found:
        raise CliError("bad_credentials", f"{source} is not a non-empty JSON object", exit_code=2)
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in found.items()}


def prompt_credentials(kind: str) -> dict[str, str]:
    """Ask for each credential of `kind` without echoing it (a terminal only)."""
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"a {kind} storage needs credentials: give --credentials-file FILE (- for stdin)"
        )
    return {
        name: click.prompt(name, hide_input=True, prompt_suffix=": ") for name in CREDENTIALS[kind]
    }


_CREDENTIALS_FILE = click.option(
    "--credentials-file",
    metavar="FILE",
    help="A JSON object of the credentials (- reads standard input); never printed.",
)


def _location(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--bucket", help="The bucket (azure: the container); not for local."),
            click.option("--prefix", help="A folder inside the bucket."),
            click.option("--region"),
            click.option("--endpoint", help="An S3-compatible server's URL (s3)."),
        ]
    ):
        command = option(command)
    return command


@backup_storage.command(name="list")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def list_(page: int, page_size: int) -> None:
    """Storages, newest first: kind, bucket or folder, the default, whether credentials are set."""
    current = state()
    found = current.client.backup_storages.list(page=page, page_size=page_size)
    output.emit(current, found.to_json(), "backup_storage")
    paging.hint(current, found)


@backup_storage.command()
@click.argument("name")
@common
def get(name: str) -> None:
    """One storage, by name."""
    current = state()
    output.emit(current, current.client.backup_storages.get(name).to_json(), "backup_storage")


@backup_storage.command()
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="The API's `provider`.")
@_location
@_CREDENTIALS_FILE
@click.option("--default", "default", is_flag=True, help="Make it the default storage.")
@common
def create(name: str, kind: str, credentials_file: str | None, **fields: Any) -> None:
    """Register the storage NAME. s3, gcs and azure need credentials: --credentials-file,
    or a hidden prompt on a terminal."""
    body = given(**fields)
    if credentials_file is not None:
        body["credentials"] = read_credentials(credentials_file)
    elif CREDENTIALS[kind]:
        body["credentials"] = prompt_credentials(kind)
    current = state()
    created = current.client.backup_storages.create(name, kind, **body)
    output.emit(current, created.to_json(), "backup_storage")


@backup_storage.command()
@click.argument("name")
@_location
@_CREDENTIALS_FILE
@click.option(
    "--prompt-credentials", is_flag=True, help="Ask for new credentials (hidden) on a terminal."
)
@click.option(
    "--default/--no-default",
    "default",
    default=None,
    help="Make it the default storage (the API refuses --no-default on the default).",
)
@common
def update(
    name: str, credentials_file: str | None, prompt_credentials: bool, **fields: Any
) -> None:
    """Change only the fields given; new credentials replace them all."""
    changes = given(**fields)
    current = state()
    storages = current.client.backup_storages
    if credentials_file is not None:
        changes["credentials"] = read_credentials(credentials_file)
    elif prompt_credentials:
        changes["credentials"] = _ask(storages.get(name).provider)
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    output.emit(current, storages.update(name, **changes).to_json(), "backup_storage")


def _ask(kind: str) -> dict[str, str]:
    if not CREDENTIALS.get(kind):
        raise click.UsageError(f"a {kind} storage takes no credentials")
    return prompt_credentials(kind)


@backup_storage.command()
@click.argument("name")
@common
def delete(name: str) -> None:
    """Remove a storage (refused, exit 4, while databases use it or while it is the default
    and others exist); a local storage's folder and backups stay."""
    current = state()
    current.client.backup_storages.delete(name)
    click.echo(f"backup storage {name} deleted", err=True)
