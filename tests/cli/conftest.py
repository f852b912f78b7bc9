"""The command-line tests' fixtures: one app with the simulator on a real port per module
(`served`), and `kdb`, which runs the installed console script as a subprocess with a home
of its own (its config file under a temporary XDG_CONFIG_HOME) and no KDB_* variable but
those a test gives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serving import Served, served_app

BIN = Path(sys.executable).parent
KDB = BIN / "kdb"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedded_redis_url: str) -> Iterator[Served]:
    yield from serve_cli(tmp_path_factory, embedded_redis_url)


def serve_cli(
    tmp_path_factory: pytest.TempPathFactory, embedded_redis_url: str, *, real_databases: int = 1
) -> Iterator[Served]:
    """The app for kdb, with `real_databases` real servers (a module's own `served` may ask
    for more)."""
    # Real servers for the first databases made (one by default); a database named `broken`
    # whose volume expansions fail (an operation that ends failed).
    knobs: dict[str, object] = {
        "real_databases": real_databases,
        "failing_volume_expansions": ["*/broken"],
    }
    folder = tmp_path_factory.mktemp("cli-app")
    yield from served_app(folder, embedded_redis_url, name="cli", knobs=knobs)


def as_admin(served: Served) -> dict[str, str]:
    """The variables that point kdb at the served app with its admin key, project acme/shop."""
    return {
        "KDB_URL": served.url,
        "KDB_API_KEY": served.admin_token,
        "KDB_DOMAIN": "acme",
        "KDB_PROJECT": "shop",
    }


@dataclass
class Kdb:
    """`kdb` as a user runs it: in a shell whose home is `home`."""

    home: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KDB), *args],
            env={**self.env, **env},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def kdb(tmp_path: Path) -> Kdb:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDB_")}
    # The virtualenv's bin first: its psql and redis-cli (scripts/link_clients.py).
    env |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PATH": f"{BIN}:/usr/bin:/bin",
    }
    return Kdb(home=home, env=env)
