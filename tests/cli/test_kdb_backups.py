"""`kdb backup`, `kdb clone`, `kdb restore` and `kdb restore-window` as a user runs them,
against the app and the simulator: a row of a real PostgreSQL server goes through a backup
into a clone, a restore in place refuses to run unconfirmed in a script, and the listings
parse as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Kdb, as_admin, serve_cli
from tests.cli.test_readme_section import readme_block, run_block
from tests.serving import Served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedded_redis_url: str) -> Iterator[Served]:
    # Two real PostgreSQL servers: a source and its clone (the README block deletes its own).
    yield from serve_cli(tmp_path_factory, embedded_redis_url, real_databases=2)


# The README's whole block: a backup, a clone into a new database, a restore, each through
# real servers; about 16 s alone, and over a minute once on a loaded CI machine.
@pytest.mark.timeout(120)  # the block itself is given 90 s (`run_block`)
def test_the_readme_kdb_backup_block_works_as_written(
    served: Served, kdb: Kdb, tmp_path: Path
) -> None:
    ran = run_block(readme_block("## Backups and restores", 1), served, kdb, tmp_path)

    assert ran.returncode == 0, ran.stderr
    lines = [line.strip() for line in ran.stdout.splitlines()]
    assert lines[0] == "running" and "1,2" in lines, lines
    header = next(i for i, line in enumerate(lines) if line.startswith("ID "))
    assert lines[header - 1] == "deleted" and lines.count("deleted") == 2, lines
    assert lines[header].split()[:4] == ["ID", "DATABASE", "TYPE", "STATUS"], lines
    types = {row.split()[2] for row in lines[header + 1 :]}
    assert {"manual", "final"} <= types, lines
    assert lines.count("running") == 3, lines
    count = lines.index("count")
    assert lines[count + 2] == "2", lines


def test_a_backup_of_a_row_is_cloned_into_a_new_database_that_has_the_row(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served) | {"KDB_PROJECT": "backups"}
    made = kdb("db", "create", "ledger", "--engine", "postgres", "--version", "16.13", **env)
    assert made.returncode == 0, made.stderr
    wrote = kdb(
        "db", "connect", "ledger", "-c", "create table t (n int); insert into t values (7)", **env
    )
    assert wrote.returncode == 0, wrote.stderr

    taken = kdb("backup", "create", "ledger", "-o", "json", **env)
    assert taken.returncode == 0, taken.stderr
    backup = json.loads(taken.stdout)
    assert (backup["type"], backup["status"]) == ("manual", "succeeded")
    assert " backup succeeded 100%" in taken.stderr.splitlines()[-1]
    listed = kdb("backup", "list", "ledger", "-o", "json", **env)
    assert backup["id"] in [b["id"] for b in json.loads(listed.stdout)], listed.stderr

    cloned = kdb(
        "clone", "ledger", "ledger-copy", "--backup", backup["id"], "--query", "status", **env
    )
    assert (cloned.returncode, cloned.stdout.strip()) == (0, "running"), cloned.stderr
    read = kdb("db", "connect", "ledger-copy", "-c", "select n from t", **env)
    assert read.returncode == 0, read.stderr
    assert "7" in [line.strip() for line in read.stdout.splitlines()], read.stdout

    unconfirmed = kdb("restore", "ledger", "--backup", backup["id"], input="", **env)
    assert unconfirmed.returncode == 2
    assert unconfirmed.stderr.startswith("error: confirmation_required: ")
    assert len(unconfirmed.stderr.splitlines()) == 1
    restored = kdb(
        "restore", "ledger", "--backup", backup["id"], "--yes", "--query", "status", **env
    )
    assert (restored.returncode, restored.stdout.strip()) == (0, "running"), restored.stderr


def test_restore_window_and_the_project_s_backups_print_as_json(served: Served, kdb: Kdb) -> None:
    env = as_admin(served) | {"KDB_PROJECT": "windows"}
    # Redis has no archiver: its window is empty, naming why; its backups are listed.
    made = kdb("db", "create", "cache", "--engine", "redis", "--version", "8.2.2", **env)
    assert made.returncode == 0, made.stderr
    assert kdb("backup", "create", "cache", "--no-wait", **env).returncode == 0
    window = json.loads(kdb("restore-window", "cache", "-o", "json", **env).stdout)
    assert (window["database"], window["earliest"], window["reason"]) == (
        "cache",
        None,
        "pitr_not_enabled",
    )
    assert "manual" in [b["type"] for b in window["backups"]]

    # A (modelled) PostgreSQL under point-in-time recovery: its window opens.
    pitr = kdb(
        "db", "create", "archive", "--engine", "postgres", "--version", "16.13", "--pitr", **env
    )
    assert pitr.returncode == 0, pitr.stderr
    for _ in range(40):
        window = json.loads(kdb("restore-window", "archive", "-o", "json", **env).stdout)
        if window["earliest"] is not None:
            break
    assert window["earliest"] <= window["latest"], window

    project = json.loads(kdb("backup", "list", "-o", "json", **env).stdout)
    assert {"cache"} <= {b["database_name"] for b in project}
