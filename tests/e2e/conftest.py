"""Run the real process: `python -m app` on a free port, with its own data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.config.settings import Settings
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.e2e.platform import Platform, running
from tests.support import free_port, redis_keys

ROOT = Path(__file__).resolve().parents[2]
SECOND_TOKEN = "kubeconfig-token-4b1d2e9c7f"
"""Simulator B's admin token: tests check it is never shown."""


@dataclass
class AppProcess:
    data_dir: Path
    port: int
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, command: list[str] | None = None) -> AppProcess:
        """`python -m app`, or `command` (arguments after the interpreter)."""
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, *(command or ["-m", "app"])],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_healthy(self, timeout: float = 30) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"app exited with {self.proc.returncode}:\n{self.log}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"app not healthy within {timeout}s:\n{self.log}")
            time.sleep(0.05)

    def terminate(self, timeout: float = 10) -> tuple[int, float]:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def embedded_redis_pid(self) -> int:
        return int((self.data_dir / "redis" / "redis.pid").read_text().strip())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def app_process(folder: Path, name: str = "app", **env: str) -> AppProcess:
    """An unstarted `python -m app` on a free port, its DATA_DIR and log under `folder`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))}
    data_dir = folder / name
    process_env = {
        **base,
        "DATA_DIR": str(data_dir),
        "PORT": str(free_port()),
        "INSTANCE_ID": "kubedb-dbaas-abc123",
        "LOG_LEVEL": "INFO",
        "LEADER_LEASE_TTL": "2",
        "LEADER_RETRY_INTERVAL": "0.2",
        "OPERATION_READ_BLOCK": "0.1",
        "REDIS_KEY_PREFIX": redis_keys().prefix,
        **env,
    }
    return AppProcess(
        data_dir=data_dir,
        port=int(process_env["PORT"]),
        log_path=folder / f"{name}.log",
        env=process_env,
    )


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[object]:
    started: list[AppProcess] = []

    def factory(name: str = "app", **env: str) -> AppProcess:
        app = app_process(tmp_path, name, **env)
        started.append(app)
        return app

    yield factory
    for app in started:
        app.kill()


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The app in-process with the simulator as its cluster (`tests.e2e.platform`)."""
    async with running(settings, embedded_redis_url, tmp_path) as started:
        yield started


@pytest.fixture
async def two_clusters(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Platform, Served]]:
    """The platform (simulator A is its own cluster, the provider `local`) and simulator B,
    with the KubeDB model, to register as a second provider."""
    async with (
        running(settings, embedded_redis_url, tmp_path) as platform,
        run_simulator(simulator=Simulator(plugins=[install], admin_token=SECOND_TOKEN)) as second,
    ):
        second.simulator.config.update({"time_scale": 0.005})
        yield platform, second
