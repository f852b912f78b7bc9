"""DATA_DIR is private to the user (issue 12, item 16): after `make run`, with a database
created, every directory under it is 0700 and every file 0600 (nothing for group or others),
and so is a DATA_DIR an older version left readable. DATA_DIR itself is 0701: others may
pass through it, never list or read it (the simulator's real database servers run as an
unprivileged user who must reach their folders under it, issue 15)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.e2e.test_walkthrough import made_run

pytestmark = pytest.mark.timeout(300)

# While it runs: a write through the API (the SQLite WAL, the embedded Redis's AOF), then the
# mode and type of every path under DATA_DIR.
SCRIPT = """
KEY=$(cat var/admin-api-key)
curl -fsS -o /dev/null -X POST http://127.0.0.1:8000/api/v1/api-keys \\
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
  -d '{"name": "private-files", "role": "viewer", "domain": "acme"}'
find var/ -printf '%m %y %p\\n'
"""


def modes(listing: str) -> dict[str, tuple[int, str]]:
    found = {}
    for line in listing.splitlines():
        mode, kind, path = line.split(" ", 2)
        found[path] = (int(mode, 8), kind)
    return found


def assert_private(found: dict[str, tuple[int, str]], data_dir: str) -> None:
    assert found.pop(data_dir) == (0o701, "d")
    # The simulator's database servers' folders belong to their own user (docs/simulator.md).
    found = {p: m for p, m in found.items() if "/simulator-dataplane" not in p}
    opened = {p: oct(m) for p, (m, _) in found.items() if m & (stat.S_IRWXG | stat.S_IRWXO)}
    assert opened == {}, f"readable by others: {opened}"
    dirs = {p: oct(m) for p, (m, kind) in found.items() if kind == "d" and m != 0o700}
    files = {p: oct(m) for p, (m, kind) in found.items() if kind == "f" and m != 0o600}
    assert dirs == {} and files == {}


def test_everything_make_run_writes_under_data_dir_is_private(tmp_path: Path) -> None:
    with made_run(tmp_path / "var") as run:
        result = run.script(SCRIPT, timeout=60)

    found = modes(result.stdout)
    names = {Path(p).name for p in found}
    assert {
        "kubedb-dbaas.sqlite3",
        "kubedb-dbaas.sqlite3-wal",
        "app.observability.log",
        "app.pid",
        "simulator.log",
        "kubeconfig",
        "admin-api-key",
        "encryption-key",
    } <= names
    assert any(n.endswith(".aof") or n == "appendonlydir" for n in names)
    assert_private(found, f"{tmp_path / 'var'}/")  # `find var/` as `script` runs it
    after_stop = {
        p: m
        for p, m in (
            (str(p), (p.stat().st_mode & 0o777, "d" if p.is_dir() else "f"))
            for p in [tmp_path / "var", *(tmp_path / "var").rglob("*")]
            if not p.is_socket()
        )
    }
    assert_private(after_stop, str(tmp_path / "var"))


def test_a_data_dir_left_readable_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "app.observability.log").write_text("an older log\n")
    (data_dir / "app.observability.log").chmod(0o644)

    with made_run(data_dir) as run:
        result = run.script("find var/ -printf '%m %y %p\\n'", timeout=60)

    assert_private(modes(result.stdout), f"{data_dir}/")
