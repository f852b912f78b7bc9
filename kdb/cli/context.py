"""What every command shares: the flags given anywhere on the line, the settings resolved
from them (config.py), the output format, and the SDK client, built on first use.

The SDK (httpx, pydantic) is imported only when a command asks for the client, so `kdb
--help` and usage errors never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kdb.cli import config

if TYPE_CHECKING:
    from kdb.sdk.client import Client
    from kdb.sdk.databases import Databases

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """A failure the CLI itself detects, with its error code and exit code."""

    def __init__(self, code: str, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


@dataclass
class State:
    flags: dict[str, str | None] = field(default_factory=dict)
    output: str = "table"
    query: str | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @cached_property
    def file(self) -> config.ConfigFile:
        return config.ConfigFile.load(self.path)

    @property
    def path(self) -> Path:
        return config.config_path(self.env)

    @cached_property
    def settings(self) -> config.Settings:
        flags = {k: v for k, v in self.flags.items() if k != "profile"}
        return config.resolve(flags, self.env, self.file, profile=self.flags.get("profile"))

    def need(self, name: str, hint: str) -> str:
        value = self.settings.get(name)
        if not value:
            raise CliError("not_configured", hint, exit_code=5 if name == "api_key" else 2)
        return value

    @cached_property
    def client(self) -> Client:
        from kdb.sdk.client import Client

        url = self.need("url", "no API URL: pass --url, set KDB_URL or run `kdb login`")
        key = self.need("api_key", "no API key: set KDB_API_KEY or run `kdb login`")
        return Client(url, key)

    def databases(self) -> Databases:
        domain = self.need(
            "domain", "no domain: pass --domain, set KDB_DOMAIN or `kdb login --domain`"
        )
        project = self.need(
            "project", "no project: pass --project, set KDB_PROJECT or `kdb login --project`"
        )
        return self.client.databases(domain, project)


def state() -> State:
    ctx = click.get_current_context()
    found = ctx.find_object(State)
    if found is None:
        found = ctx.find_root().ensure_object(State)
    return found


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None or param.name is None:
        return value
    shared = ctx.find_root().ensure_object(State)
    if param.name == "output":
        if value not in FORMATS and not value.startswith("jsonpath="):
            raise click.BadParameter(f"{value!r} is not one of {OUTPUT_HELP}", ctx, param)
        shared.output = value
    elif param.name == "query":
        shared.query = value
    else:
        shared.flags[param.name] = value
    return value


FORMATS = ("table", "wide", "json", "yaml")
OUTPUT_HELP = "table (default), wide, json, yaml, or jsonpath=PATH (e.g. jsonpath=.status)"


def common(command: F) -> F:
    """The options every command takes, before or after its own (kubectl's way)."""
    options = [
        click.option(
            "--profile",
            help="Profile of the config file to use.",
            expose_value=False,
            callback=_remember,
        ),
        click.option(
            "--url",
            help="API URL (overrides KDB_URL and the profile).",
            expose_value=False,
            callback=_remember,
        ),
        click.option(
            "--domain",
            help="Domain (organisation) of the databases.",
            expose_value=False,
            callback=_remember,
        ),
        click.option(
            "--project", help="Project of the databases.", expose_value=False, callback=_remember
        ),
        click.option("-o", "--output", help=OUTPUT_HELP, expose_value=False, callback=_remember),
        click.option(
            "--query",
            help="Print one field, by a dotted path (e.g. status, [0].name).",
            expose_value=False,
            callback=_remember,
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
