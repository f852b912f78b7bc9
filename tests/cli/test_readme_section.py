"""The README's "Command-line client (kdb)" block, run as written but for the address and the
key file of an app served for it (STYLE 24: a test runs every command the README shows)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.conftest import BIN, Kdb
from tests.serving import Served

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block() -> str:
    section = README.read_text().split("\n## Command-line client (kdb)\n", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readme_kdb_block_creates_connects_scales_and_deletes_a_database(
    served: Served, kdb: Kdb, tmp_path: Path
) -> None:
    key_file = tmp_path / "admin-api-key"
    key_file.write_text(served.admin_token + "\n")
    script = (
        readme_block()
        .replace("http://127.0.0.1:8000", served.url)
        .replace("var/admin-api-key", str(key_file))
        .replace("$PWD/.venv/bin", str(BIN))
        .replace(".venv/bin/", f"{BIN}/")
    )

    ran = subprocess.run(
        ["bash", "-e", "-c", script],
        env=kdb.env,
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert "1" in [line.strip() for line in lines]  # psql's answer to `select 1`
    assert lines[-1] == "deleted"
    assert " create succeeded 100%" in ran.stderr
