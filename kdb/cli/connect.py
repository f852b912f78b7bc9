"""`kdb db connect NAME [-c COMMAND]`: the engine's own client, logged in.

The password never goes on the command line (where `ps` shows it): PostgreSQL's `psql` reads
PGPASSWORD, `redis-cli` REDISCLI_AUTH, `mysql`/`mariadb` MYSQL_PWD; `mongosh` has no such
variable, so it gets a connect script in a temporary file (mode 0600, removed when the
client exits). The client is looked up on PATH only. When it is not there, the command is
printed (without the password) and kdb exits 1; so it does for a database the embedded
cluster only models (`data_plane: modelled`), which has no server.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kdb.cli import completion
from kdb.cli.context import CliError, common, state
from kdb.cli.db_commands import db

if TYPE_CHECKING:
    from kdb.sdk.models import Credentials

CLIENTS = {
    "postgres": ("psql",),
    "redis": ("redis-cli",),
    "mysql": ("mysql", "mariadb"),
    "mariadb": ("mariadb", "mysql"),
    "mongodb": ("mongosh",),
}


@dataclass
class Invocation:
    """A client's arguments (no secret among them) and the secret's way in."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    script: str | None = None  # mongosh: a file holding the login, given as `--file`-like arg

    def shown(self) -> str:
        hidden = " ".join(f"{k}=<password>" for k in self.env)
        return " ".join(filter(None, [hidden, shlex.join(self.argv)]))


def invocation(engine: str, program: str, creds: Credentials, command: str | None) -> Invocation:
    host, port = creds.host or "127.0.0.1", str(creds.port or "")
    if engine == "postgres":
        argv = [program, "-h", host, "-p", port, "-U", creds.username]
        argv += ["-d", creds.database or "postgres"]
        return Invocation(
            argv + (["-c", command] if command else []), {"PGPASSWORD": creds.password}
        )
    if engine == "redis":
        argv = [program, "-h", host, "-p", port]
        if creds.username and creds.username != "default":
            argv += ["--user", creds.username]
        words = shlex.split(command) if command else []
        return Invocation(argv + words, {"REDISCLI_AUTH": creds.password})
    if engine in ("mysql", "mariadb"):
        argv = [program, "-h", host, "-P", port, "-u", creds.username]
        argv += [creds.database] if creds.database else []
        return Invocation(
            argv + (["-e", command] if command else []), {"MYSQL_PWD": creds.password}
        )
    url = f"mongodb://{host}:{port}/{creds.database or 'admin'}"
    login = f"db = connect({url!r}); db.getMongo().auth({creds.username!r}, {creds.password!r});\n"
    argv = [program, "--nodb", "--quiet"] + (["--eval", command] if command else ["--shell"])
    return Invocation(argv, script=login)


def run(call: Invocation) -> int:
    with ExitStack() as stack:
        argv = list(call.argv)
        if call.script is not None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="kdb-"))
            path = Path(folder) / "login.js"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(call.script)
            argv.insert(3, str(path))
        return subprocess.run(argv, env={**os.environ, **call.env}, check=False).returncode


@db.command()
@completion.database_name
@click.option("-c", "--command", "command", help="Run this (SQL, or a Redis command) and exit.")
@common
def connect(name: str, command: str | None) -> None:
    """Open the engine's client (psql, redis-cli, mysql/mariadb, mongosh), logged in."""
    current = state()
    databases = current.databases()
    found = databases.find(name)
    creds = databases.credentials(found.id)
    programs = CLIENTS.get(found.engine)
    if programs is None:
        raise CliError("unsupported_engine", f"no client known for engine {found.engine}")
    program = next((p for p in programs if shutil.which(p)), None)
    call = invocation(found.engine, program or programs[0], creds, command)
    if program is None:
        click.echo(call.shown())
        raise CliError(
            "client_not_found",
            f"{programs[0]} is not on PATH; install it and run the command above "
            f"(the password: kdb db credentials {name} --query password)",
        )
    if found.data_plane == "modelled":
        raise CliError(
            "no_server",
            f"database {name} is only modelled by the embedded cluster: no server to connect to",
        )
    raise SystemExit(run(call))
