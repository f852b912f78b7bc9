"""The real MariaDB adapter, for the KubeDB kinds MariaDB and MySQL: the machine's own
`mariadbd` (found on PATH, then in /usr/sbin and /usr/local/sbin), one child process per
database, small (innodb_buffer_pool_size from the memory limit within 8-64 MB, 20
connections, no performance schema, no binary log), listening on 127.0.0.1.

The folder holds `data/` (the datadir), the Unix socket and the pid file. The auth
Secret's user logs in with its password over TCP from 127.0.0.1 (and over the socket);
the servers' account logs in over the socket by `unix_socket` authentication, which only
that account can reach (the folder is 0700): the adapter changes passwords through it
with the `mariadb` client. Where no MariaDB server is installed, `available()` is False
and these kinds stay modelled; this module must not fail to import there.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
from dataclasses import dataclass
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

MAX_CONNECTIONS = 20
SBIN = "/usr/sbin:/usr/local/sbin"
"""Searched after PATH: distributions install the server there, often off a user's PATH."""
HOSTS = ("127.0.0.1", "localhost")
"""Where the Secret's user logs in from: TCP on the loopback, and the socket."""
_SMALL = [
    "--skip-log-bin",
    "--innodb-log-file-size=4M",
    "--innodb-use-native-aio=0",  # io_uring/libaio are often blocked in containers
    "--skip-name-resolve",
]


@dataclass(frozen=True, slots=True)
class Binaries:
    server: Path
    install_db: Path
    client: Path


def _which(*names: str) -> Path | None:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path=SBIN)
        if found:
            return Path(found)
    return None


@functools.cache
def binaries() -> Binaries | None:
    """The server, its data folder initialiser and its client, or None when one is missing
    (Oracle MySQL has a `mysqld` but no `mysql_install_db`: it is not supported)."""
    server = _which("mariadbd", "mysqld")
    install_db = _which("mariadb-install-db", "mysql_install_db")
    client = _which("mariadb", "mysql")
    if server is None or install_db is None or client is None:
        return None
    return Binaries(server, install_db, client)


def available() -> bool:
    return binaries() is not None


def _bins() -> Binaries:
    found = binaries()
    if found is None:
        raise DataPlaneError("no MariaDB server (mariadbd, mariadb-install-db) on this machine")
    return found


def buffer_pool(memory_bytes: int) -> int:
    return clamp(memory_bytes // 16, 8 * MIB, 64 * MIB) // MIB * MIB


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _credentials_sql(credentials: Credentials, *, admin: str, old: str | None) -> list[str]:
    """Statements (one a line: `--bootstrap` reads them so) that make `credentials` the
    only way the Secret's user logs in; `old`, another user name, is dropped."""
    sql = []
    for host in HOSTS:
        if host == "localhost" and credentials.username == admin:
            continue  # the account's socket login stays
        user = f"{_literal(credentials.username)}@{_literal(host)}"
        sql += [
            f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {_literal(credentials.password)};",
            f"ALTER USER {user} IDENTIFIED BY {_literal(credentials.password)};",
            f"GRANT ALL PRIVILEGES ON *.* TO {user} WITH GRANT OPTION;",
        ]
    if old is not None and old not in (credentials.username, admin):
        sql += [f"DROP USER IF EXISTS {_literal(old)}@{_literal(host)};" for host in HOSTS]
    return sql


class MariaDB:
    name = "mariadb"

    async def start(self, spec: ServerSpec) -> Handle:
        bins = _bins()
        data = spec.folder / "data"
        if not (spec.folder / "initialised").exists():
            await self._initialise(spec, data, bins)
        handle = Handle(spec)
        handle.applied["username"] = spec.credentials.username
        pool = buffer_pool(spec.memory_bytes)
        handle.process = await processes.spawn(
            [
                str(bins.server),
                "--no-defaults",
                f"--datadir={data}",
                f"--port={spec.port}",
                "--bind-address=127.0.0.1",
                f"--socket={socket_of(spec.folder)}",
                f"--pid-file={pid_file(spec.folder)}",
                *_SMALL,
                f"--innodb-buffer-pool-size={pool}",
                f"--max-connections={MAX_CONNECTIONS}",
                "--performance-schema=OFF",
                "--innodb-flush-log-at-trx-commit=2",
                "--log-warnings=1",  # not a line per probe ("Aborted connection")
            ],
            who=spec.account,
            log=spec.folder / "server.log",
        )
        handle.applied["innodb_buffer_pool_size"] = str(pool)
        return handle

    async def _initialise(self, spec: ServerSpec, data: Path, bins: Binaries) -> None:
        """The system tables, then (the server in bootstrap mode, SQL on its stdin: no
        password in a file) only two users: the account's socket login and the Secret's."""
        shutil.rmtree(data, ignore_errors=True)
        processes.own(spec.folder, spec.account)
        common = ["--no-defaults", f"--datadir={data}", *_SMALL]
        await processes.run(
            [
                str(bins.install_db),
                *common,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            who=spec.account,
            timeout=120,
        )
        admin = _literal(spec.account.name) + "@'localhost'"
        sql = [
            "FLUSH PRIVILEGES;",  # bootstrap mode starts without the grant tables
            "DELETE FROM mysql.global_priv WHERE User <> 'mariadb.sys';",
            "DELETE FROM mysql.proxies_priv;",
            "FLUSH PRIVILEGES;",
            f"CREATE USER {admin} IDENTIFIED VIA unix_socket;",
            f"GRANT ALL PRIVILEGES ON *.* TO {admin} WITH GRANT OPTION;",
            *_credentials_sql(spec.credentials, admin=spec.account.name, old=None),
        ]
        try:
            await processes.run(
                [str(bins.server), *common, "--bootstrap", "--log-warnings=0"],
                who=spec.account,
                stdin="\n".join(sql) + "\n",
                timeout=120,
            )
        except DataPlaneError as exc:
            raise DataPlaneError(f"mariadbd could not create the users: {exc.reason}") from exc
        processes.write_owned(spec.folder / "initialised", spec.account.name, spec.account)

    async def stop(self, handle: Handle) -> None:
        if handle.process is not None:
            await processes.stop(handle.process)  # SIGTERM: a clean shutdown

    async def probe(self, handle: Handle) -> bool:
        if handle.process is None or handle.process.returncode is not None:
            return False
        return await greets(handle.spec.port)

    async def apply_credentials(self, handle: Handle, credentials: Credentials) -> None:
        old = handle.applied.get("username")
        admin = handle.spec.account.name
        await self._sql(handle, "\n".join(_credentials_sql(credentials, admin=admin, old=old)))
        handle.applied["username"] = credentials.username

    async def _sql(self, handle: Handle, sql: str) -> str:
        spec = handle.spec
        return await processes.run(
            [
                str(_bins().client),
                "--no-defaults",
                f"--socket={socket_of(spec.folder)}",
                f"--user={spec.account.name}",
                "--batch",
                "--skip-column-names",
            ],
            who=spec.account,
            stdin=sql,
        )

    async def apply_settings(self, handle: Handle, memory_bytes: int) -> bool:
        """innodb_buffer_pool_size is dynamic in MariaDB: no restart."""
        pool = str(buffer_pool(memory_bytes))
        if handle.applied.get("innodb_buffer_pool_size") != pool:
            await self._sql(handle, f"SET GLOBAL innodb_buffer_pool_size = {pool};")
            handle.applied["innodb_buffer_pool_size"] = pool
        return False

    async def version(self) -> str:
        """`mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu ...` -> 10.11.19"""
        out = await processes.run([str(_bins().server), "--version"], who=_self())
        words = out.split()
        if "Ver" in words[:-1]:
            return words[words.index("Ver") + 1].split("-")[0]
        return out.strip()

    def remove_data(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)


async def greets(port: int, timeout: float = 1.0) -> bool:
    """The server sends its handshake packet: it serves. (`mariadbd` listens a while before
    it serves; a connection made then waits, and a SIGTERM then may go unheeded.)"""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        await asyncio.wait_for(reader.readexactly(5), timeout)  # a packet's header, and more
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return True


def socket_of(folder: Path) -> Path:
    return folder / "mysqld.sock"


def pid_file(folder: Path) -> Path:
    return folder / "mysqld.pid"


def _self() -> Account:
    return Account("self", None, None)
