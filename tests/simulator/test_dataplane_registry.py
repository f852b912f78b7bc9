"""Which kinds the data plane runs for real: MariaDB and MySQL only where a MariaDB server
is found (on PATH, then /usr/sbin and /usr/local/sbin); elsewhere they stay modelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.kubedb.dataplane import mariadb, registry


def test_without_a_mariadb_server_mariadb_and_mysql_have_no_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(mariadb, "SBIN", str(tmp_path))
    mariadb.binaries.cache_clear()
    try:
        found, table = mariadb.available(), registry.real_kinds()
    finally:
        mariadb.binaries.cache_clear()

    assert not found
    assert set(table) == {"Postgres", "Redis"}


def test_a_mariadb_server_in_sbin_is_found_when_path_lacks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sbin, bin_ = tmp_path / "sbin", tmp_path / "bin"
    for folder, name in ((sbin, "mariadbd"), (bin_, "mariadb-install-db"), (bin_, "mariadb")):
        folder.mkdir(exist_ok=True)
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_))
    monkeypatch.setattr(mariadb, "SBIN", str(sbin))
    mariadb.binaries.cache_clear()
    try:
        found, table = mariadb.binaries(), registry.real_kinds()
    finally:
        mariadb.binaries.cache_clear()

    assert found == mariadb.Binaries(
        sbin / "mariadbd", bin_ / "mariadb-install-db", bin_ / "mariadb"
    )
    assert {kind: real.url for kind, real in table.items() if kind in ("MariaDB", "MySQL")} == {
        "MariaDB": "mysql://127.0.0.1:{port}",
        "MySQL": "mysql://127.0.0.1:{port}",
    }
