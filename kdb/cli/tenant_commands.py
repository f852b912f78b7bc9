"""`kdb quota get|set` (a domain's and a project's limits beside their usage) and `kdb audit`
(the audit log, filtered and paged).

The tenant is the resolved `--domain` and `--project` (flags, variables, profile). `quota
get` shows the domain and, when a project is set, the project; `quota set` changes the
project's quota when a project is set (`--scope domain` for the domain's). The API replaces
a quota whole, so `set` reads the current one first and changes only the limits given: a
number, or `unlimited` to lift one. The audit log's filters are its own flags
(`--for-domain`, `--for-project`: not the settings, so an admin sees every tenant).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from kdb.cli import admin_columns, output, paging
from kdb.cli.context import common, state

LIMITS = {
    "max_databases": int,
    "max_cpu_cores": float,
    "max_memory_gb": float,
    "max_storage_gb": float,
}
UNLIMITED = ("unlimited", "none")
assert admin_columns  # its columns print quotas and audit entries


def merged(current: Mapping[str, Any], given: Mapping[str, str | None]) -> dict[str, Any]:
    """The quota after `set`: `current` with the limits given (`unlimited`: None)."""
    quota = {name: current.get(name) for name in LIMITS}
    for name, text in given.items():
        if text is None:
            continue
        option = "--" + name.replace("_", "-")
        if text.strip().lower() in UNLIMITED:
            quota[name] = None
            continue
        kind = LIMITS[name]
        try:
            value = kind(text)
        except ValueError:
            number = "whole number" if kind is int else "number"
            raise click.BadParameter(
                f"{text!r} is not a {number} or `unlimited`", param_hint=option
            ) from None
        if value < 0:
            raise click.BadParameter(f"{text!r} is negative", param_hint=option)
        quota[name] = value
    return quota


@click.group()
def quota() -> None:
    """Quotas: limits of a domain and of its projects, beside their usage."""


def _tenant() -> tuple[str, str | None]:
    current = state()
    domain = current.need("domain", "no domain: pass --domain, set KDB_DOMAIN or login --domain")
    return domain, current.settings.get("project")


@quota.command()
@common
def get() -> None:
    """The domain's quota and usage, and the project's when a project is set."""
    current = state()
    domain, project = _tenant()
    quotas = current.client.quotas
    found = [quotas.get(domain).to_json()]
    if project:
        found.append(quotas.get(domain, project).to_json())
    output.emit(current, found, "quota")


@quota.command(name="set")
@click.option(
    "--scope",
    type=click.Choice(("domain", "project")),
    help="Whose quota (default: the project's when a project is set, else the domain's).",
)
@click.option("--max-databases", metavar="N|unlimited")
@click.option("--max-cpu-cores", metavar="N|unlimited")
@click.option("--max-memory-gb", metavar="N|unlimited")
@click.option("--max-storage-gb", metavar="N|unlimited")
@common
def set_(scope: str | None, **given: str | None) -> None:
    """Change limits of a quota (admin keys); the limits not given stay as they are."""
    if all(v is None for v in given.values()):
        raise click.UsageError("nothing to change: give at least one --max-... option")
    merged({}, given)  # a bad limit is a usage error before anything is asked of the API
    current = state()
    domain, project = _tenant()
    if scope == "project" and not project:
        raise click.UsageError("--scope project needs a project (--project)")
    if scope == "domain":
        project = None
    quotas = current.client.quotas
    now = quotas.get(domain, project).quota.to_json()
    changed = quotas.set(domain, project, **merged(now, given))
    output.emit(current, [changed.to_json()], "quota")


@click.command()
@click.option(
    "--scope",
    type=click.Choice(("tenant", "platform", "all")),
    help="tenant (the API's default): the tenants' requests; platform: those without a "
    "valid key; all (both: admin keys).",
)
@click.option("--for-domain", "domain", help="Entries of this domain.")
@click.option("--for-project", "project", help="Entries of this project.")
@click.option("--actor", metavar="KEY_ID", help="Requests made with this API key.")
@click.option("--target", help="Requests on this object (an id: db-..., key-..., prv-...).")
@click.option("--outcome", type=click.IntRange(100, 599), help="An HTTP status, e.g. 403.")
@click.option("--since", metavar="TIME", help="ISO 8601 with a zone, inclusive.")
@click.option("--until", metavar="TIME", help="ISO 8601 with a zone, exclusive.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@common
def audit(**filters: Any) -> None:
    """The audit log, newest first (admin keys: all of it; owner keys: their own scope)."""
    current = state()
    found = current.client.audit.list(**filters)
    output.emit(current, found.to_json(), "audit")
    paging.hint(current, found)
