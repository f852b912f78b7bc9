"""One process per embedded store: an exclusive `flock` on a lock file beside the SQLite file,
held for as long as the store is open (and, by `python -m app`, for the process's life).

Two processes on one SQLite file contend for its write lock and answered 503s and crashed
workers (issue 12, item 23); the embedded store is one process by design, so the second
refuses to start instead. Within one process the lock is counted, so the process entry
point and the store it opens share it. Not for MongoDB, which is the multi-process store.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from app.store import errors

_HELD: dict[Path, _Held] = {}


@dataclass
class _Held:
    fd: int
    count: int


class StoreLocked(errors.StoreError):
    """Another process holds the embedded store."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def acquire(database: Path) -> Path:
    """Take the lock for the SQLite file `database` (counted within this process); raise
    StoreLocked with one line naming the file when another process holds it."""
    path = lock_path(database).resolve()
    held = _HELD.get(path)
    if held is not None:
        held.count += 1
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(
            f"another kubedb-dbaas process is using the embedded store {database} "
            f"(lock {path}); run one process per DATA_DIR, or use MONGODB_URL for several"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD[path] = _Held(fd, 1)
    return path


def release(path: Path) -> None:
    held = _HELD.get(path)
    if held is None:
        return
    held.count -= 1
    if held.count == 0:
        del _HELD[path]
        os.close(held.fd)  # closing the descriptor drops the flock
