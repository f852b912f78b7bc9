"""A real PostgreSQL's point-in-time recovery into a new server folder, before its first
start: the base backup (`base.tar` of `pg_basebackup`) unpacked as the data folder, the
shipped WAL it needs copied where the server's account reads it, `recovery.signal` with
`restore_command`, `recovery_target_time` and `recovery_target_action = 'promote'`; then a
private server (no TCP) replays to the target and promotes, and is stopped. The data plane
starts the real server afterwards, as for any folder, and applies the new database's own
credentials. Bounded by a deadline; the blocking file work runs in threads.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from simulator.kubedb.backup import movers
from simulator.kubedb.dataplane import postgres, processes
from simulator.kubedb.dataplane.port import Account, DataPlaneError

RESTORE = "wal-restore"
_RECOVERY_KEYS = ("restore_command", "recovery_target_time", "recovery_target_action")
_ARCHIVE_KEYS = ("archive_mode", "archive_command", "archive_timeout")


class RecoveryError(Exception):
    """The recovery failed; `reason` is one line for the RestoreSession and the database."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def info(base: Path) -> dict[str, object]:
    """A base backup's `basebackup.json` (start, end, superuser); blocking."""
    loaded = json.loads((base / movers.BASE_BACKUP_INFO).read_text())
    return loaded if isinstance(loaded, dict) else {}


def _settings(conf: Path, drop: tuple[str, ...], add: dict[str, str]) -> None:
    lines = conf.read_text().splitlines() if conf.exists() else []
    kept = [ln for ln in lines if ln.split("=", 1)[0].strip() not in drop]
    kept += [f"{key} = '{value.replace(chr(39), chr(39) * 2)}'" for key, value in add.items()]
    conf.write_text("\n".join(kept) + "\n")


def _chown_tree(path: Path, who: Account) -> None:
    if who.uid is None or who.gid is None:
        return
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), who.uid, who.gid)
    os.chown(path, who.uid, who.gid)


def _start_segment(data: Path) -> str:
    label = (data / "backup_label").read_text() if (data / "backup_label").exists() else ""
    return movers.start_segment(label)


def pg_time(unix: float) -> str:
    """A time as `recovery_target_time` reads it (it refuses RFC3339's `T...Z`)."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def prepare(base: Path, wal: Path, folder: Path, who: Account, target_time: float) -> str:
    """Lay out the folder for the replay; the role to connect as. Blocking: a thread."""
    details = info(base)
    data, restore = folder / "data", folder / RESTORE
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(restore, ignore_errors=True)
    data.mkdir(parents=True)
    with tarfile.open(base / movers.BASE_BACKUP) as tar:
        tar.extractall(data, filter="tar")
    first = _start_segment(data)
    restore.mkdir()
    for item in sorted(wal.glob("*.gz")) if wal.exists() else ():
        name = item.name.removesuffix(".gz")
        if re.fullmatch(r"[0-9A-F]{24}", name) and name[8:] < first[8:]:
            continue  # before the base backup: not needed
        with gzip.open(item, "rb") as source, (restore / name).open("wb") as out:
            shutil.copyfileobj(source, out)
    _settings(
        data / "postgresql.auto.conf",
        _ARCHIVE_KEYS + _RECOVERY_KEYS,
        {
            "restore_command": f"cp {restore}/%f %p",
            "recovery_target_time": pg_time(target_time),
            "recovery_target_action": "promote",
        },
    )
    (data / "recovery.signal").write_text("")
    data.chmod(0o700)
    _chown_tree(data, who)
    _chown_tree(restore, who)
    superuser = str(details.get("superuser") or "postgres")
    processes.write_owned(folder / "superuser", superuser, who)
    return superuser


def finish(folder: Path) -> None:
    """After the promotion: the recovery settings and the copied WAL go. Blocking."""
    _settings(folder / "data" / "postgresql.auto.conf", _RECOVERY_KEYS, {})
    shutil.rmtree(folder / RESTORE, ignore_errors=True)


async def replay(folder: Path, who: Account, superuser: str, *, deadline: float) -> None:
    """Run a private server on the folder until it has promoted, then stop it."""
    loop = asyncio.get_running_loop()
    port = processes.free_port()
    log = folder / "recovery.log"
    server = await processes.spawn(
        [
            str(postgres.BIN / "postgres"),
            *("-D", str(folder / "data"), "-p", str(port)),
            *("-c", "listen_addresses=", "-c", f"unix_socket_directories={folder}"),
            *("-c", f"max_connections={postgres.MAX_CONNECTIONS}", "-c", "fsync=off"),
        ],
        who=who,
        log=log,
    )
    try:
        while True:
            if server.returncode is not None:
                raise RecoveryError(f"the recovery stopped: {await asyncio.to_thread(_last, log)}")
            if loop.time() > deadline:
                raise RecoveryError("the recovery did not finish in time")
            if await _promoted(folder, port, who, superuser):
                return
            await asyncio.sleep(0.2)
    finally:
        await processes.stop(server, sig=postgres.STOP_SIGNAL)


async def _promoted(folder: Path, port: int, who: Account, superuser: str) -> bool:
    argv = [str(postgres.BIN / "psql"), "-X", "-A", "-t", "-h", str(folder), "-p", str(port)]
    argv += ["-U", superuser, "-d", "postgres", "-c", "SELECT pg_is_in_recovery()"]
    try:
        out = await processes.run(argv, who=who, timeout=10)
    except DataPlaneError:
        return False  # not accepting connections yet
    return out.strip() == "f"


def _last(log: Path) -> str:
    """The server's reason: its last FATAL line, with the line before it when it explains."""
    lines = log.read_text(errors="replace").splitlines()
    fatal = [i for i, ln in enumerate(lines) if "FATAL:" in ln]
    if not fatal:
        return "the server exited (see recovery.log)"
    reason = lines[fatal[-1]].split("FATAL:", 1)[-1].strip()
    before = lines[fatal[-1] - 1] if fatal[-1] > 0 else ""
    for level in ("LOG:", "ERROR:"):
        if level in before:
            reason += f" ({before.split(level, 1)[-1].strip()})"
    return reason
