"""`kdb provider list|get|create|update|delete`: the Kubernetes clusters databases are placed
on (admin keys).

A provider is named by its name or its `prv-` id. Its cluster is reached by one of
`--kubeconfig FILE` (the file's content is sent, stored encrypted by the API, and never
printed), `--kubeconfig-path PATH` (a file on the API's host) or `--api-endpoint URL`. The
API checks the cluster before it accepts a create or a connection change (exit 2 with its
reason). These changes take effect at once: there is no operation to wait for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kdb.cli import admin_columns, output, paging
from kdb.cli.context import CliError, common, state
from kdb.cli.db_commands import given, pairs

F = TypeVar("F", bound=Callable[..., Any])
PERCENT = click.FloatRange(0, 100, min_open=True)
AMOUNT = click.FloatRange(0, 1_000_000)
assert admin_columns  # its columns print providers


@click.group()
def provider() -> None:
    """Providers: the Kubernetes clusters databases go to (admin keys)."""


def _fields(*, creating: bool) -> Callable[[F], F]:
    """The options of a provider's fields: required ones on create, all optional on update."""
    options = [
        click.option("--region", required=creating),
        click.option("--availability-zone"),
        click.option("--cloud-provider"),
        click.option(
            "--for-domain",
            "domain",
            help="Dedicate the provider to this domain (the API's `domain` field).",
        ),
        click.option("--cpu-total-cores", type=AMOUNT, required=creating),
        click.option("--memory-total-gb", type=AMOUNT, required=creating),
        click.option("--storage-total-gb", type=AMOUNT, required=creating),
        click.option("--cpu-reservation-percent", type=PERCENT),
        click.option("--memory-reservation-percent", type=PERCENT),
        click.option("--storage-reservation-percent", type=PERCENT),
        click.option(
            "--kubeconfig",
            "kubeconfig_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A kubeconfig file: its content is sent (stored encrypted, never shown).",
        ),
        click.option("--kubeconfig-path", help="A kubeconfig path on the API's host."),
        click.option("--api-endpoint", help="A cluster address that asks for no credentials."),
        click.option("--verify-ssl/--no-verify-ssl", default=None),
        click.option("--priority", type=click.IntRange(-1000, 1000), help="Higher: preferred."),
        click.option("--active/--inactive", "is_active", default=None),
        click.option("--maintenance/--no-maintenance", "is_maintenance", default=None),
        click.option("--tag", "tags", multiple=True, help="Repeat for several (replaces)."),
        click.option("--metadata", multiple=True, metavar="KEY=VALUE"),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def body(
    fields: dict[str, Any], kubeconfig_file: Path | None, tags: tuple[str, ...], metadata: Any
) -> dict[str, Any]:
    """The request body of the options given (the kubeconfig file read, never printed)."""
    found = given(**fields) | given(tags=list(tags) or None, metadata=pairs(metadata, "--metadata"))
    if kubeconfig_file is not None:
        try:
            found["kubeconfig_content"] = kubeconfig_file.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise CliError(
                "bad_kubeconfig", f"cannot read {kubeconfig_file}: {e}", exit_code=2
            ) from e
    ways = [k for k in ("kubeconfig_content", "kubeconfig_path", "api_endpoint") if k in found]
    if len(ways) > 1:
        raise click.UsageError("give one of --kubeconfig, --kubeconfig-path, --api-endpoint")
    return found


@provider.command(name="list")
@click.option("--region")
@click.option("--availability-zone")
@click.option("--active/--inactive", "is_active", default=None, help="Only active (inactive).")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def list_(**filters: Any) -> None:
    """Providers, newest first, with their capacity (allocated/allocatable)."""
    current = state()
    found = current.client.providers.list(**filters)
    output.emit(current, found.to_json(), "provider")
    paging.hint(current, found)


@provider.command()
@click.argument("name")
@common
def get(name: str) -> None:
    """One provider, by name or id."""
    current = state()
    output.emit(current, current.client.providers.find(name).to_json(), "provider")


@provider.command()
@click.argument("name")
@_fields(creating=True)
@common
def create(
    name: str,
    kubeconfig_file: Path | None,
    tags: tuple[str, ...],
    metadata: tuple[str, ...],
    **fields: Any,
) -> None:
    """Register the provider NAME (one of --kubeconfig, --kubeconfig-path, --api-endpoint)."""
    sent = body(fields, kubeconfig_file, tags, metadata)
    if not {"kubeconfig_content", "kubeconfig_path", "api_endpoint"} & sent.keys():
        raise click.UsageError("give one of --kubeconfig, --kubeconfig-path, --api-endpoint")
    current = state()
    output.emit(current, current.client.providers.create(name, **sent).to_json(), "provider")


@provider.command()
@click.argument("name")
@click.option("--name", "new_name", help="Rename the provider.")
@_fields(creating=False)
@common
def update(
    name: str,
    new_name: str | None,
    kubeconfig_file: Path | None,
    tags: tuple[str, ...],
    metadata: tuple[str, ...],
    **fields: Any,
) -> None:
    """Change a provider's fields (a connection change is checked by the API first)."""
    changes = body(fields, kubeconfig_file, tags, metadata) | given(name=new_name)
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    current = state()
    providers = current.client.providers
    found = providers.find(name)
    output.emit(current, providers.update(found.id, **changes).to_json(), "provider")


@provider.command()
@click.argument("name")
@common
def delete(name: str) -> None:
    """Remove a provider (refused, exit 4, while databases are on it)."""
    current = state()
    providers = current.client.providers
    found = providers.find(name)
    providers.delete(found.id)
    click.echo(f"provider {found.name} ({found.id}) deleted", err=True)
