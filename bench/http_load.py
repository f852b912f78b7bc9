"""Serving and loading HTTP for the benches: a server in its own process, and the load on it.

`bench.scale` and `bench.reads` both start `python -m app` and the bare FastAPI endpoint
(`bench.bare_app`) as subprocesses and load them from one generator, so the two measure the
same way. The load comes from `wrk` when it is installed (`apt-get install wrk`: a C client
that costs the two cores far less than a Python one) and otherwise from `load`, a
hand-written keep-alive HTTP/1.1 client over asyncio streams. Nothing here may send traffic
anywhere but the loopback address of a server it was handed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Window:
    """One load window: requests per second, p50 and p99 latency (ms), non-200 answers."""

    rate: float
    p50: float
    p99: float
    failures: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cycle(items: list[str]) -> Iterator[str]:
    while True:
        yield from items


async def load(
    base: str,
    paths: Iterator[str],
    *,
    seconds: float,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-200 answers) over `seconds`.

    Hand-written keep-alive HTTP/1.1 over asyncio streams rather than httpx: httpx spends
    about a millisecond of CPU per request here, which caps a load generator near 800
    requests/s on this machine, below either server, so it would measure itself.
    """
    host, port = base.removeprefix("http://").split(":")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def user() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                request = f"GET {next(paths)} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n"
                t0 = time.perf_counter()
                writer.write(request.encode())
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if status.split()[1:2] != [b"200"]:
                    failures += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    took = time.perf_counter() - began
    return (
        len(latencies) / took,
        statistics.median(latencies) * 1000,
        percentile(latencies, 0.99) * 1000,
        failures,
    )


# Cycles through the paths, one list per wrk thread, with the same headers on every request.
_WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_path() -> str | None:
    return shutil.which("wrk")


class Loader:
    """The load generator of a bench run: `wrk` if installed, else `load` (Python)."""

    def __init__(self, *, concurrency: int, seconds: float, use_wrk: bool = True) -> None:
        self.concurrency = concurrency
        self.seconds = seconds
        self.wrk = wrk_path() if use_wrk else None

    def describe(self) -> str:
        if self.wrk is None:
            return f"Python keep-alive client (bench.http_load.load), {self.concurrency} in flight"
        threads = min(2, self.concurrency)
        return f"wrk, {self.concurrency} connections, {threads} threads"

    async def window(
        self, base: str, paths: list[str], headers: dict[str, str] | None = None
    ) -> Window:
        if self.wrk is None:
            rate, p50, p99, failed = await load(
                base,
                cycle(paths),
                seconds=self.seconds,
                concurrency=self.concurrency,
                headers=headers,
            )
            return Window(rate, p50, p99, failed)
        return await asyncio.to_thread(self._wrk_window, base, paths, headers or {})

    def _wrk_window(self, base: str, paths: list[str], headers: dict[str, str]) -> Window:
        assert self.wrk is not None
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
        try:
            command = [
                self.wrk,
                f"-t{min(2, self.concurrency)}",
                f"-c{self.concurrency}",
                f"-d{max(1, round(self.seconds))}s",
                "--latency",
                "-s",
                script.name,
            ]
            for name, value in headers.items():
                command += ["-H", f"{name}: {value}"]
            done = subprocess.run(
                [*command, base], capture_output=True, text=True, timeout=self.seconds + 60
            )
        finally:
            os.unlink(script.name)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
        return parse_wrk(done.stdout)


def parse_wrk(out: str) -> Window:
    """The figures of a `wrk --latency` report."""

    def latency(share: str) -> float:
        found = re.search(rf"^\s+{share}%\s+([\d.]+)(us|ms|s)$", out, re.M)
        if found is None:
            raise RuntimeError(f"no {share}% latency in wrk's report:\n{out}")
        return float(found[1]) * _UNIT_MS[found[2]]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)$", out, re.M)
    if rate is None:
        raise RuntimeError(f"no Requests/sec in wrk's report:\n{out}")
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    return Window(
        float(rate[1]),
        latency("50"),
        latency("99"),
        (int(failed[1]) if failed else 0) + socket_errors,
    )


# Settings the benches that start the app (`python -m app`) add to `app_env`.
IDLE_PASSES = {"RECONCILE_INTERVAL": "3600", "STATUS_SYNC_INTERVAL": "3600"}
NO_RATE_LIMITS = {"RATE_LIMIT_PER_MINUTE": "10000000", "RATE_LIMIT_BURST": "10000000"}


def app_env(data_dir: Path, port: int, admin_key: str, **settings: str) -> dict[str, str]:
    """The app's environment for a bench: its own data folder and port on loopback, the
    admin key the bench signs in with, instance id `bench`, then `settings` (names as the
    README's settings table spells them)."""
    return {
        "DATA_DIR": str(data_dir),
        "ADMIN_API_KEY": admin_key,
        "INSTANCE_ID": "bench",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **settings,
    }


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def server(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[Server]:
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", process, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 30 s; waited for either way."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bare_command(port: int) -> list[str]:
    """`bench.bare_app` under uvicorn, one process, as `python -m app` runs."""
    return [
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]


async def ready(
    served: Server,
    path: str,
    *,
    timeout: float = 120,
    check: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: object = None
    base = served.url
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            if served.process.poll() is not None:
                raise RuntimeError(
                    f"{base} exited with {served.process.returncode}:\n"
                    f"{served.log.read_text()[-2000:]}"
                )
            try:
                answer = await client.get(path)
            except httpx.HTTPError as exc:
                last = exc
            else:
                last = answer.text[:2000]
                if answer.status_code in (200, 503):
                    body: dict[str, Any] = answer.json()
                    if check is None or check(body):
                        return body
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{base}{path} did not get ready within {timeout:g}s: {last}")
