"""The seam through which a new server's folder is filled before its first start (a
point-in-time recovery), instead of an empty `initdb`: the data plane asks its `Seeder`
once per new claim and starts the server only when the answer is not `WAIT`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Protocol

from simulator.kubedb.cluster import Cluster
from simulator.kubedb.dataplane.port import Account


class Seed(enum.StrEnum):
    NONE = "none"
    """Nothing to seed: the server starts as any new server (initdb)."""
    SEEDED = "seeded"
    """The folder holds recovered data: start it, then apply the auth Secret's credentials."""
    WAIT = "wait"
    """Not yet (a recovery runs, or failed: the server never starts); ask again later."""


class Seeder(Protocol):
    async def prepare(
        self,
        cluster: Cluster,
        key: tuple[str, str, str],
        db: dict[str, Any],
        folder: Path,
        account: Account,
    ) -> Seed: ...
