"""The `kdb` command line, run as a user runs it (the installed console script, a process of
its own) against the app and the simulator on a real port: login and its config file, a
database's life from create to delete with the progress lines, `-o json` and one field,
`db connect` on the embedded cluster's real Redis, and the exit codes of failures."""

from __future__ import annotations

import json
import stat

from tests.cli.conftest import Kdb, as_admin
from tests.serving import Served


def test_a_database_is_created_followed_connected_scaled_and_deleted(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)  # PostgreSQL's turn is the README's block (test_readme_section)

    created = kdb(
        "db", "create", "sessions", "--engine", "redis", "--version", "8.2.2",
        "--label", "team=web", "-o", "json", **env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["status"] == "running"
    progress = created.stderr.splitlines()
    assert len(progress) >= 2 and all(" create " in line for line in progress)
    assert " create succeeded 100%" in progress[-1]

    got = json.loads(kdb("db", "get", "sessions", "-o", "json", **env).stdout)
    assert (got["name"], got["engine"], got["labels"]) == ("sessions", "redis", {"team": "web"})
    connected = kdb("db", "connect", "sessions", "-c", "ping", **env)
    assert (connected.returncode, connected.stdout.strip()) == (0, "PONG"), connected.stderr

    scaled = kdb("db", "scale", "sessions", "--size", "db.t3.small", "--query", "size", **env)
    assert (scaled.returncode, scaled.stdout.strip()) == (0, "db.t3.small"), scaled.stderr
    deleted = kdb("db", "delete", "sessions", "-o", "jsonpath={.status}", **env)
    assert (deleted.returncode, deleted.stdout.strip()) == (0, "deleted"), deleted.stderr


def test_login_keeps_the_key_in_a_private_file_and_config_view_masks_it(
    served: Served, kdb: Kdb
) -> None:
    logged_in = kdb(
        "login", "--url", served.url, "--domain", "acme", "--project", "shop",
        input=served.admin_token + "\n",
    )  # fmt: skip
    assert logged_in.returncode == 0, logged_in.stderr
    path = kdb.home / ".config" / "kubedb-dbaas" / "config.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    viewed = kdb("config", "view", "-o", "json")
    shown = json.loads(viewed.stdout)
    assert served.admin_token not in viewed.stdout
    assert shown["settings"]["api_key"] == {
        "value": "****" + served.admin_token[-4:],
        "from": "profile",
    }
    assert shown["settings"]["url"]["value"] == served.url
    listed = kdb("db", "list", "-o", "json")  # the saved profile alone is enough
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)


def test_login_saves_nothing_when_the_api_refuses_the_key(served: Served, kdb: Kdb) -> None:
    refused = kdb("login", "--url", served.url, KDB_API_KEY="not-a-key")

    assert refused.returncode == 5
    assert refused.stderr.startswith("error: unauthorized: ")
    assert not (kdb.home / ".config" / "kubedb-dbaas" / "config.yaml").exists()


def test_a_failed_operation_exits_1_with_its_error(served: Served, kdb: Kdb) -> None:
    env = as_admin(served)
    made = kdb("db", "create", "broken", "--engine", "redis", "--version", "8.2.2", **env)
    assert made.returncode == 0, made.stderr

    grown = kdb("db", "scale", "broken", "--storage-gb", "30", **env)

    assert grown.returncode == 1
    last = grown.stderr.splitlines()[-1]
    assert last.startswith("error: operation_failed: operation ") and "expand_storage" in last
    again = kdb("db", "create", "broken", "--engine", "redis", "--version", "8.2.2", **env)
    assert again.returncode == 4 and again.stderr.startswith("error: ")


def test_connect_prints_the_command_without_the_password_when_the_client_is_missing(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)
    assert (
        kdb("db", "create", "cache", "--engine", "redis", "--version", "8.2.2", **env).returncode
        == 0
    )
    password = kdb("db", "credentials", "cache", "--query", "password", **env).stdout.strip()

    shown = kdb("db", "connect", "cache", PATH=str(kdb.home), **env)

    assert shown.returncode == 1
    assert shown.stdout.startswith("REDISCLI_AUTH=<password> redis-cli -h ")
    assert password and password not in shown.stdout + shown.stderr
    assert shown.stderr.startswith("error: client_not_found: redis-cli is not on PATH")


def test_an_unknown_database_exits_3(served: Served, kdb: Kdb) -> None:
    missing = kdb("db", "get", "nowhere", **as_admin(served))

    assert missing.returncode == 3
    assert missing.stderr == "error: not_found: database nowhere not found in acme/shop\n"


def test_a_revoked_key_exits_5(served: Served, kdb: Kdb) -> None:
    with served.api() as api:
        issued = api.post("/api/v1/api-keys", json={"name": "gone", "role": "admin"}).json()
        assert api.delete(f"/api/v1/api-keys/{issued['id']}").status_code in (200, 204)

    refused = kdb("db", "list", **(as_admin(served) | {"KDB_API_KEY": issued["secret"]}))

    assert refused.returncode == 5
    assert refused.stderr.startswith("error: unauthorized: ")
    assert len(refused.stderr.splitlines()) == 1


def test_bad_flags_exit_2_with_one_line_and_no_request(kdb: Kdb) -> None:
    for args in (
        ["db", "create", "x", "--engine", "oracle", "--version", "1"],
        ["db", "get", "x", "--no-such-flag"],
        ["db", "list", "-o", "xml"],
    ):
        bad = kdb(*args, KDB_URL="http://127.0.0.1:9")  # nothing listens on port 9

        assert bad.returncode == 2, args
        assert bad.stderr.startswith("error: usage: ") and bad.stderr.count("\n") == 1, args


def test_the_api_unreachable_is_one_line_and_exit_1(kdb: Kdb) -> None:
    down = kdb("sizes", KDB_URL="http://127.0.0.1:9", KDB_API_KEY="k")

    assert down.returncode == 1
    assert down.stderr.startswith("error: connection_failed: cannot reach http://127.0.0.1:9")
    assert "Traceback" not in down.stderr


def test_versions_and_sizes_print_tables(served: Served, kdb: Kdb) -> None:
    env = as_admin(served)
    sizes = kdb("sizes", **env)
    versions = kdb("versions", "--engine", "postgres", "-o", "wide", **env)

    assert sizes.stdout.split()[:4] == ["NAME", "CPU", "MEMORY", "DEFAULT"]
    assert "db.t3.micro" in sizes.stdout
    assert versions.stdout.split()[:4] == ["ENGINE", "VERSION", "DEFAULT", "DEPRECATED"]
    assert "16.13" in versions.stdout
