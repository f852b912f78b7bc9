"""A real PostgreSQL's continuous archiving, the parts that touch the server and files:
turning WAL archiving on (`archive_mode` needs a restart, which the caller asks of the data
plane), switching to a new WAL segment, shipping the archived segments (gzipped, as wal-g
does) from the server folder to the storage, and deleting the shipped segments no base
backup left can use.

`archive_command` copies each segment into `<server folder>/wal-archive`, a folder the
server's own account owns; the sidekick (root or not) moves them on from there. Every
client process is bounded by a deadline and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from simulator.kubedb.backup.movers import Target
from simulator.kubedb.dataplane import postgres, processes
from simulator.kubedb.dataplane.port import Account

ARCHIVE = "wal-archive"
TIMEOUT = 15.0
# A segment, or a base backup's history file named after the segment it started in.
_PRUNABLE = re.compile(r"([0-9A-F]{24})(?:\.[0-9A-F]{8}\.backup)?")


class WalError(Exception):
    """Archiving could not be set up or a segment not shipped; `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def command(folder: Path) -> str:
    archive = folder / ARCHIVE
    return f"cp %p {archive}/%f.part && mv {archive}/%f.part {archive}/%f"


async def sql(target: Target, *statements: str, timeout: float = TIMEOUT) -> list[str]:
    """Run statements over TCP as the target's user; the output lines (`a|b` per row)."""
    assert target.url is not None
    parts = urlsplit(target.url)
    argv = [str(postgres.BIN / "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"]
    argv += ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port), "-U", target.username]
    argv += ["-d", "postgres"]
    for statement in statements:
        argv += ["-c", statement]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PGPASSWORD": target.password, "PGCONNECT_TIMEOUT": "5"},
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise WalError(f"psql did not finish within {timeout:g}s") from None
    lines = out.decode(errors="replace").strip().splitlines()
    if process.returncode != 0:
        raise WalError(f"psql failed: {lines[-1] if lines else process.returncode}")
    return lines


async def archiving(target: Target, folder: Path) -> bool:
    """Whether the server archives into `folder`'s archive now."""
    lines = await sql(target, "SHOW archive_mode", "SHOW archive_command")
    return lines == ["on", command(folder)]


async def configure(target: Target, folder: Path, account: Account) -> None:
    """Make the archive folder and set the archiving settings (a restart applies them)."""
    await asyncio.to_thread(processes.own, folder / ARCHIVE, account)
    literal = command(folder).replace("'", "''")
    await sql(
        target,
        "ALTER SYSTEM SET archive_mode = 'on'",
        f"ALTER SYSTEM SET archive_command = '{literal}'",
        "SELECT pg_reload_conf()",
    )


async def switch(target: Target) -> tuple[str, str]:
    """Close the current WAL segment; the segment holding everything written before the
    call (pg_walfile_name of the switch point), and the current LSN.

    A commit goes first (`txid_current()` in its own transaction): recovery to a time T
    stops at the first commit after T, and fails when the archive ends before one. With
    this commit in every shipped segment, any T up to the call's start has a commit after
    it on the storage, even on a database idle since T, so the published window holds."""
    lines = await sql(
        target,
        "SELECT txid_current()",
        "SELECT pg_walfile_name(pg_switch_wal()), pg_current_wal_lsn()",
    )
    segment, _, lsn = (lines[-1] if lines else "").partition("|")
    if not segment:
        raise WalError("pg_switch_wal() returned nothing")
    return segment, lsn


def ship(folder: Path, destination: Path) -> int:
    """Move the archived segments of the server folder to the storage (gzipped); the number
    moved. Blocking: run in a thread."""
    archive = folder / ARCHIVE
    destination.mkdir(parents=True, exist_ok=True)
    moved = 0
    for item in sorted(archive.glob("*")) if archive.exists() else ():
        if item.name.endswith(".part") or not item.is_file():
            continue
        part = destination / f"{item.name}.gz.part"
        with item.open("rb") as source, gzip.open(part, "wb", compresslevel=1) as out:
            shutil.copyfileobj(source, out)
        part.rename(destination / f"{item.name}.gz")
        item.unlink()
        moved += 1
    return moved


def shipped(destination: Path, segment: str) -> bool:
    return (destination / f"{segment}.gz").exists()


def prune(destination: Path, first: str) -> int:
    """Delete the shipped segments that come before `first` (the oldest base backup's start
    segment): a recovery starts from a base backup and replays onwards, so nothing reads
    them again. A base backup's history file (`<segment>.<offset>.backup`) goes with its
    segment; the timeline is left out of the order, as the recovery does; `.history` files
    stay. The number deleted. Blocking: run in a thread."""
    if not re.fullmatch(r"[0-9A-F]{24}", first):
        return 0
    deleted = 0
    for item in destination.glob("*.gz") if destination.exists() else ():
        found = _PRUNABLE.fullmatch(item.name.removesuffix(".gz"))
        if found and found.group(1)[8:] < first[8:]:
            item.unlink(missing_ok=True)
            deleted += 1
    return deleted
