"""The simulator's state on disk (`--state PATH`): every stored object, the resourceVersion
counter and the port it served on, in one embedded SQLite file, so a restarted simulator
comes back with the cluster it had, on the same address.

Why SQLite and not an append-only log: the file holds the current objects only (an upsert
replaces, a delete removes), so it never needs compacting however long the simulator runs
and however often the operator model rewrites statuses; a log would grow with every status
write and need a compaction pass of its own. WAL mode with `synchronous=NORMAL` keeps a
commit cheap.

Writes are behind the store, batched: each committed change is noted (the newest version of
each object wins) and the batch is written in one transaction `FLUSH_DELAY` seconds later,
and at once when the simulator stops. A simulator killed with SIGKILL may lose the last
`FLUSH_DELAY` seconds of writes; one stopped by SIGTERM/SIGINT loses nothing.

It must not interpret objects: it stores what the store commits and hands it back. The
watch history is not kept (a restarted server answers 410 for older resourceVersions, as
a kube-apiserver does after its watch cache is rebuilt past a compaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from simulator.objects import Obj, name_of, namespace_of
from simulator.watch import Change

if TYPE_CHECKING:
    from simulator.server import Simulator

log = structlog.get_logger(__name__)

FLUSH_DELAY = 0.05
"""Seconds a committed change may wait before it is on disk."""
FLUSH_BATCH = 1_000
"""Changes noted before a flush happens at once (a burst of writes that never yields)."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS objects ("
    " resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"
    " PRIMARY KEY (resource, namespace, name))",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

_Row = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Restored:
    objects: list[tuple[str, Obj]]
    """(resource, object) pairs; resource is `ResourceType.resource`."""
    resource_version: int
    port: int | None


class StateFile:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # It holds Secrets and the admin token: readable by its owner only, like the kubeconfig.
        os.chmod(path, 0o600)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._pending: dict[tuple[str, str, str], Obj | None] = {}
        self._pending_rv = 0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.port: int | None = None
        """The port the simulator served on last time (see `port_to_serve`)."""

    def load(self) -> Restored:
        objects = [
            (resource, json.loads(body))
            for resource, body in self._db.execute("SELECT resource, body FROM objects")
        ]
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        port = meta.get("port")
        return Restored(objects, int(meta.get("resource_version", 0)), int(port) if port else None)

    def record(self, change: Change) -> None:
        """Note a committed change; it reaches the disk with the next flush."""
        obj = change.object
        key = (change.resource, namespace_of(obj), name_of(obj))
        self._pending[key] = None if change.type == "DELETED" else obj
        self._pending_rv = change.rv
        if len(self._pending) >= FLUSH_BATCH:
            self.flush()
        elif self._timer is None and not self._closed:
            with contextlib.suppress(RuntimeError):  # no loop (construction): flushed later
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        upserts = [
            (*key, json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
            for key, obj in pending.items()
            if obj is not None
        ]
        deletes: list[_Row] = [key for key, obj in pending.items() if obj is None]
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)", upserts)
            self._db.executemany(
                "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?", deletes
            )
            self._set("resource_version", str(self._pending_rv))

    def remembered(self, key: str) -> str | None:
        """A value kept with `remember` (the admin token), or None."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def remember(self, key: str, value: str) -> None:
        with self._transaction():
            self._set(key, value)

    def remember_port(self, port: int) -> None:
        self.port = port
        with self._transaction():
            self._set("port", str(port))

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._db.close()

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def open_state(sim: Simulator, path: Path) -> StateFile:
    """Open (or create) the state file and load it into `sim`'s store; from then on every
    committed change is written to it. The seeded random generator moves on by the
    restored counter, so uids and generated names do not repeat those of the first run."""
    state = StateFile(path)
    restored = state.load()
    sim.store.restore(restored.objects, restored.resource_version)
    sim.hub.restart_at(restored.resource_version)
    if restored.resource_version:
        sim.random.seed(sim.random.random() + restored.resource_version)
    sim.store.journal = state.record
    state.port = restored.port
    log.info(
        "state_loaded",
        path=str(path),
        objects=len(restored.objects),
        resource_version=restored.resource_version,
    )
    return state


def port_to_serve(host: str, remembered: int | None) -> int:
    """The remembered port when it is free; otherwise 0 (any free port), with a warning:
    the kubeconfig is rewritten with the new address, and providers registered by address
    must be updated (the app's `/health` reports them down meanwhile)."""
    if not remembered:
        return 0
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, remembered))
        except OSError as exc:
            log.warning("remembered_port_taken", port=remembered, error=str(exc))
            return 0
    return remembered
