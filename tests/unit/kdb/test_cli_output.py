"""What `-o jsonpath=` and `--query` pick out of an answer, the exit code of each SDK error,
and how `db connect` hands a password to each client (never on its command line)."""

from __future__ import annotations

import pytest

from kdb.cli import connect, fieldpath
from kdb.cli.main import exit_code
from kdb.sdk import errors
from kdb.sdk.models import Credentials

ANSWER = {"status": "running", "labels": {"team": "a"}, "items": [{"name": "x"}, {"name": "y"}]}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status", "running"),
        (".labels.team", "a"),
        ("{.items[1].name}", "y"),
        ("$.items[-1].name", "y"),
        ("items[0]", {"name": "x"}),
    ],
)
def test_a_dotted_indexed_path_picks_one_value(path: str, value: object) -> None:
    assert fieldpath.resolve(ANSWER, path) == value


@pytest.mark.parametrize("path", ["missing", "items[5]", "status.deeper", "items[x"])
def test_a_path_that_leads_nowhere_is_a_path_error(path: str) -> None:
    with pytest.raises(fieldpath.PathError):
        fieldpath.resolve(ANSWER, path)


@pytest.mark.parametrize(
    ("status", "leaf", "code"),
    [
        (400, errors.BadRequest, 2),
        (422, errors.BadRequest, 2),
        (401, errors.AuthFailed, 5),
        (403, errors.Forbidden, 5),
        (404, errors.NotFound, 3),
        (409, errors.Conflict, 4),
        (412, errors.Conflict, 4),
        (429, errors.RateLimited, 1),
        (503, errors.Unavailable, 1),
    ],
)
def test_each_api_status_has_its_error_class_and_exit_code(
    status: int, leaf: type[errors.ApiError], code: int
) -> None:
    error = errors.error_class(status)(status, "some_code", "a message")

    assert isinstance(error, leaf)
    assert exit_code(error) == code


def test_a_connection_failure_exits_1() -> None:
    assert exit_code(errors.ConnectionFailed("cannot reach")) == 1


CREDS = Credentials(
    username="app", password="s3cret-password", host="10.0.0.5", port=5432, database="app"
)


@pytest.mark.parametrize(
    ("engine", "program", "variable"),
    [
        ("postgres", "psql", "PGPASSWORD"),
        ("redis", "redis-cli", "REDISCLI_AUTH"),
        ("mysql", "mysql", "MYSQL_PWD"),
        ("mariadb", "mariadb", "MYSQL_PWD"),
    ],
)
def test_each_client_gets_the_password_through_its_environment_variable(
    engine: str, program: str, variable: str
) -> None:
    call = connect.invocation(engine, program, CREDS, "select 1")

    assert call.env == {variable: "s3cret-password"}
    assert "s3cret-password" not in " ".join(call.argv) + call.shown()
    assert call.argv[0] == program and "10.0.0.5" in call.argv


def test_mongosh_gets_the_password_in_a_login_script_not_on_its_command_line() -> None:
    call = connect.invocation("mongodb", "mongosh", CREDS, None)

    assert call.script is not None and "s3cret-password" in call.script
    assert "s3cret-password" not in " ".join(call.argv)
    assert call.env == {}
