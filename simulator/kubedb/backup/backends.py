"""Where snapshot files live: the seam between the backup jobs and a storage provider.

`writing(store, path)` gives a folder of this machine to write a snapshot's component
into, which is on the storage once the block ends; `reading(store, path)` a folder holding
it; `remove(store, path)` deletes a snapshot's files. `path` is relative to the storage
(`<repository directory>/<snapshot>/dump`). The local provider is the folder itself. The
remote ones (s3, gcs, azure) raise `Unavailable` until their upload is emulated (a later
part: a scratch folder uploaded when `writing` ends, downloaded when `reading` starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

from simulator.kubedb.backup import storage


class Unavailable(Exception):
    """The storage cannot be read or written here; `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _local(store: dict[str, Any] | None, path: str) -> Path:
    root = storage.root(store) if store is not None else None
    if root is None:
        name = ((store or {}).get("metadata") or {}).get("name")
        raise Unavailable(
            f"backup storage {name} is not readable here (only local storages are emulated)"
        )
    return root / path.strip("/")


@contextlib.asynccontextmanager
async def writing(store: dict[str, Any] | None, path: str) -> AsyncIterator[Path]:
    folder = _local(store, path)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    yield folder


@contextlib.asynccontextmanager
async def reading(store: dict[str, Any] | None, path: str) -> AsyncIterator[Path]:
    yield _local(store, path)


async def remove(store: dict[str, Any] | None, path: str) -> None:
    """Delete the files under `path` (a snapshot's folder); nothing there is not an error."""
    parts = [p for p in PurePosixPath(path).parts if p not in ("/", ".")]
    if not parts or ".." in parts:
        return  # never the storage's root, never outside it
    with contextlib.suppress(Unavailable):
        await asyncio.to_thread(shutil.rmtree, _local(store, path), True)
