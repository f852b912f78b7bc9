"""The data plane's port: what a database server adapter does, and the values it works on.

An adapter starts a server on a data folder it owns, stops it (the data stays), probes it,
applies credentials and settings to a running server, and removes the data. `Modelled` is
the adapter of engines without a real server: nothing runs and every probe succeeds.
Adapters never read cluster objects; `plane` does that and hands them `ServerSpec`s.
"""

from __future__ import annotations

import asyncio
import enum
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from simulator.kubedb import workloads

ANNOTATION_MODE = workloads.DATAPLANE_MODE
ANNOTATION_VERSION = "dataplane.simulator.kubedb-dbaas.io/server-version"
ANNOTATION_SERVER = "dataplane.simulator.kubedb-dbaas.io/server"
"""On the primary pod: the server's state (a `ServerState`), for people and for the kubelet
model, which makes the pod not ready unless the server is `running`."""


class Mode(enum.StrEnum):
    REAL = "real"
    MODELLED = "modelled"


class ServerState(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    DOWN = "down"


class DataPlaneError(Exception):
    """A server could not be prepared, started or changed; `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Account:
    """The unprivileged user servers run as (None uid: the simulator's own user)."""

    name: str
    uid: int | None
    gid: int | None


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class ServerSpec:
    folder: Path
    """Owned by the adapter: data, configuration, sockets, logs."""
    port: int
    credentials: Credentials
    memory_bytes: int
    """The primary container's memory limit; adapters map it to their own setting."""
    account: Account


@dataclass(slots=True)
class Handle:
    spec: ServerSpec
    process: asyncio.subprocess.Process | None = None
    applied: dict[str, str] = field(default_factory=dict)
    """Settings the running server has (adapter-specific names)."""


class ServerEngine(Protocol):
    name: str

    async def start(self, spec: ServerSpec) -> Handle:
        """Initialise the data folder when it is new (with the credentials), then start."""

    async def stop(self, handle: Handle) -> None:
        """Stop the server; the data stays."""

    async def probe(self, handle: Handle) -> bool:
        """The server runs and accepts connections."""

    async def apply_credentials(self, handle: Handle, credentials: Credentials) -> None:
        """From now on only `credentials` log in (the old password is refused)."""

    async def apply_settings(self, handle: Handle, memory_bytes: int) -> bool:
        """Map the memory limit to the server's setting; True when a restart must follow."""

    async def version(self) -> str: ...

    def remove_data(self, folder: Path) -> None: ...


class Modelled:
    """No process: today's model, for engines without a server on this machine."""

    name = "modelled"

    async def start(self, spec: ServerSpec) -> Handle:
        return Handle(spec)

    async def stop(self, handle: Handle) -> None:
        return None

    async def probe(self, handle: Handle) -> bool:
        return True

    async def apply_credentials(self, handle: Handle, credentials: Credentials) -> None:
        return None

    async def apply_settings(self, handle: Handle, memory_bytes: int) -> bool:
        return False

    async def version(self) -> str:
        return ""

    def remove_data(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


MIB = 2**20
