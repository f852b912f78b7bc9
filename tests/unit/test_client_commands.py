"""The ready-to-paste client command per engine, read back as a POSIX shell splits it."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from app.domain.client_commands import client_command
from app.domain.engines import Engine
from app.domain.manifests.connection import connection_info

# A password a shell would otherwise expand, split or end the command at.
PSQL_ARGUMENTS = ["-h", "orders.acme-shop.svc", "-p", "5432", "-U", "admin user", "-d", "postgres"]
NASTY = "p'a$s s;w`d\"$(rm -rf ~)&|"


def _info(engine: Engine, *, password: str = NASTY) -> tuple[str, list[str]]:
    info = connection_info(
        engine, name="orders", namespace="acme-shop", username="admin user", password=password
    )
    command = client_command(engine, info)
    return command, shlex.split(command)


def test_postgres_gets_psql_with_the_password_in_pgpassword() -> None:
    _, words = _info(Engine.POSTGRES)
    assert words == [
        f"PGPASSWORD={NASTY}",
        "psql",
        "-h",
        "orders.acme-shop.svc",
        "-p",
        "5432",
        "-U",
        "admin user",
        "-d",
        "postgres",
    ]


def test_redis_gets_redis_cli_with_the_password_in_rediscli_auth() -> None:
    _, words = _info(Engine.REDIS)
    assert words == [
        f"REDISCLI_AUTH={NASTY}",
        "redis-cli",
        "-h",
        "orders.acme-shop.svc",
        "-p",
        "6379",
        "--user",
        "admin user",
        "-n",
        "0",
    ]


@pytest.mark.parametrize("engine", [Engine.MYSQL, Engine.MARIADB])
def test_mysql_and_mariadb_get_their_own_client(engine: Engine) -> None:
    _, words = _info(engine)
    assert words == [
        engine.value,
        "-h",
        "orders.acme-shop.svc",
        "-P",
        "3306",
        "-u",
        "admin user",
        f"--password={NASTY}",
    ]


def test_mongodb_gets_mongosh_with_the_connection_string_as_one_word() -> None:
    info = connection_info(
        Engine.MONGODB, name="orders", namespace="acme-shop", username="root", password=NASTY
    )
    words = shlex.split(client_command(Engine.MONGODB, info))
    assert words == ["mongosh", info.connection_string]


def test_a_real_shell_hands_the_password_to_the_client_unchanged() -> None:
    command, _ = _info(Engine.POSTGRES)
    # `psql` stands in as a shell function printing what it was given.
    fake = 'psql() { printf "%s\\n" "$PGPASSWORD" "$@"; }; '
    ran = subprocess.run(
        ["sh", "-c", fake + command], capture_output=True, text=True, timeout=10, check=True
    )
    given = ran.stdout.splitlines()
    assert given[0] == NASTY
    assert given[1:] == PSQL_ARGUMENTS
