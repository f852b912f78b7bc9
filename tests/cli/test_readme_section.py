"""The README's kdb blocks, run as written but for the address and the key file of an app
served for them (STYLE 24: a test runs every command the README shows): the "Command-line
client (kdb)" block, and the kdb version of "Your first hour" (its second block; the first,
with curl, is tests/e2e/test_walkthrough.py's)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.cli.conftest import BIN, Kdb
from tests.serving import Served

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(heading: str, index: int = 0) -> str:
    """The `index`-th shell block of the README's section under `heading`."""
    section = README.read_text().split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return str(re.findall(r"```sh\n(.*?)```", section, re.S)[index])


def run_block(
    block: str, served: Served, kdb: Kdb, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    key_file = tmp_path / "admin-api-key"
    key_file.write_text(served.admin_token + "\n")
    script = (
        block.replace("http://127.0.0.1:8000", served.url)
        .replace("var/admin-api-key", str(key_file))
        .replace("$PWD/.venv/bin", str(BIN))
        .replace(".venv/bin/", f"{BIN}/")
    )
    return subprocess.run(
        ["bash", "-e", "-c", script],
        env=kdb.env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_the_readme_kdb_block_creates_connects_scales_and_deletes_a_database(
    served: Served, kdb: Kdb, tmp_path: Path
) -> None:
    ran = run_block(readme_block("## Command-line client (kdb)"), served, kdb, tmp_path)

    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert "1" in [line.strip() for line in lines]  # psql's answer to `select 1`
    assert lines[-1] == "deleted"
    assert " create succeeded 100%" in ran.stderr


def test_the_first_hour_walkthrough_with_kdb_works_as_written(
    served: Served, kdb: Kdb, tmp_path: Path
) -> None:
    ran = run_block(readme_block("## Your first hour", 1), served, kdb, tmp_path)

    assert ran.returncode == 0, ran.stderr
    lines = [line.strip() for line in ran.stdout.splitlines()]
    assert lines[0] == "running"
    assert lines[1].startswith("postgresql://"), lines
    assert lines[2:6] == ["CREATE TABLE", "INSERT 0 1", "5", "paused"], lines
    assert lines[6] == "running" and "kept" in lines
    assert '"17.6"' in ran.stdout and lines.count("17.6") == 1  # offered, then reached
    assert "UpgradeVersionSucceeded" in ran.stdout and "CreateRequested" in ran.stdout
    # The Redis database: a real server too.
    assert lines[-3:] == ["running", "PONG", "deleted"], lines
    assert lines.count("deleted") == 2
