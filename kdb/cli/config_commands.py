"""`kdb login` (check a key against the API, then keep it in a profile) and `kdb config view`.

The key is read from `KDB_API_KEY`, else from standard input when it is not a terminal
(`kdb login --url URL < key-file`), else from a hidden prompt: never from a flag, which
would leave it in the shell's history and in `ps`.
"""

from __future__ import annotations

import sys

import click

from kdb.cli import config, output
from kdb.cli.context import CliError, common, state


def _read_key(env: dict[str, str]) -> str:
    if env.get("KDB_API_KEY"):
        return env["KDB_API_KEY"].strip()
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return str(click.prompt("API key", hide_input=True)).strip()


@click.command()
@common
def login() -> None:
    """Check an API key against the API and save it, with --url, --domain and --project, in a
    profile (--profile, default `default`) that becomes the current one."""
    from kdb.sdk.client import Client

    current = state()
    url = current.settings.get("url")  # --url, else KDB_URL, else the profile's own
    if not url:
        raise click.UsageError("give the API's address: kdb login --url URL")
    key = _read_key(current.env)
    if not key:
        raise CliError(
            "no_key", "no API key given (KDB_API_KEY, standard input or the prompt)", exit_code=5
        )
    with Client(url, key) as api:
        api.sizes()  # any authenticated read: 401 (exit 5) when the key is refused
    file = current.file
    name = config.profile_name(current.flags.get("profile"), current.env, file)
    profile = file.profiles.setdefault(name, {})
    profile.update({"url": url.rstrip("/"), "api_key": key})
    for field in ("domain", "project"):
        value = current.flags.get(field) or current.env.get(config.ENV[field])
        if value:
            profile[field] = value
    file.current_profile = name
    file.save(current.path)
    click.echo(f"logged in to {url} as profile {name!r} (saved in {current.path})", err=True)


@click.group(name="config")
def config_group() -> None:
    """The CLI's own settings."""


@config_group.command()
@common
def view() -> None:
    """The settings in force (flags > KDB_* variables > profile), the key masked, and the
    profiles of the config file."""
    current = state()
    settings = current.settings
    in_force = {
        key: {
            "value": config.mask(value) if key == "api_key" else value,
            "from": settings.sources[key],
        }
        for key, value in settings.values.items()
    }
    shown = {
        "config_file": str(current.path),
        "profile": settings.profile,
        "settings": in_force,
        "profiles": {
            name: {k: config.mask(v) if k == "api_key" else v for k, v in values.items()}
            for name, values in current.file.profiles.items()
        },
    }
    if current.output in ("table", "wide") and current.query is None:
        current.output = "yaml"
    output.emit(current, shown)
