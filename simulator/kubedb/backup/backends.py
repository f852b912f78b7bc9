"""Where snapshot files live: the seam between the backup jobs and a storage provider.

`writing(cluster, store, path)` gives a folder of this machine to write a snapshot's
component into, which is on the storage once the block ends; `reading(cluster, store,
path)` a folder holding it; `remove(cluster, store, path)` deletes a snapshot's files.
`path` is relative to the storage (`<repository directory>/<snapshot>/dump`).

- local: the folder itself.
- s3: a scratch folder, uploaded through boto3 when `writing` ends (nothing is uploaded
  when the block fails), downloaded when `reading` starts, removed after (`s3`).
- gcs, azure: `Unavailable` (not emulated).

Every failure is `Unavailable` with one line for the session's status; a failed remove is
logged, the files left where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

import structlog

from simulator.kubedb.backup import s3, storage
from simulator.kubedb.cluster import Cluster

log = structlog.get_logger(__name__)

TRANSFER_TIMEOUT = 600.0


class Unavailable(Exception):
    """The storage cannot be read or written here; `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _name(store: dict[str, Any] | None) -> str:
    return str(((store or {}).get("metadata") or {}).get("name"))


def _provider(store: dict[str, Any] | None) -> str:
    return str((((store or {}).get("spec") or {}).get("storage") or {}).get("provider"))


def _local(store: dict[str, Any] | None, path: str) -> Path:
    root = storage.root(store) if store is not None else None
    if root is None:
        raise Unavailable(
            f"backup storage {_name(store)} is not readable here "
            "(only local and s3 storages are emulated)"
        )
    return root / path.strip("/")


async def _s3(cluster: Cluster, store: dict[str, Any]) -> s3.Location:
    section = ((store.get("spec") or {}).get("storage") or {}).get("s3") or {}
    namespace = str(store["metadata"].get("namespace"))
    secret_name = str(section.get("secretName") or "")
    secret = await cluster.peek("secrets", namespace, secret_name) if secret_name else None
    if secret is None:
        raise Unavailable(f'Secret "{secret_name}" not found in namespace {namespace}')
    try:
        return s3.location(section, secret)
    except s3.S3Error as exc:
        raise Unavailable(exc.reason) from exc


async def _scratch() -> Path:
    return Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kubestash-s3-"))


@contextlib.asynccontextmanager
async def writing(cluster: Cluster, store: dict[str, Any] | None, path: str) -> AsyncIterator[Path]:
    if store is None or _provider(store) != "s3":
        folder = _local(store, path)
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        yield folder
        return
    where = await _s3(cluster, store)
    scratch = await _scratch()
    try:
        yield scratch
        try:
            await s3.upload(where, scratch, path, timeout=TRANSFER_TIMEOUT)
        except s3.S3Error as exc:
            raise Unavailable(exc.reason) from exc
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


@contextlib.asynccontextmanager
async def reading(cluster: Cluster, store: dict[str, Any] | None, path: str) -> AsyncIterator[Path]:
    if store is None or _provider(store) != "s3":
        yield _local(store, path)
        return
    where = await _s3(cluster, store)
    scratch = await _scratch()
    try:
        try:
            await s3.download(where, path, scratch, timeout=TRANSFER_TIMEOUT)
        except s3.S3Error as exc:
            raise Unavailable(exc.reason) from exc
        yield scratch
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


async def remove(cluster: Cluster, store: dict[str, Any] | None, path: str) -> None:
    """Delete the files under `path` (a snapshot's folder); nothing there is not an error."""
    parts = [p for p in PurePosixPath(path).parts if p not in ("/", ".")]
    if not parts or ".." in parts:
        return  # never the storage's root, never outside it
    try:
        if store is not None and _provider(store) == "s3":
            where = await _s3(cluster, store)
            try:
                await s3.delete(where, "/".join(parts), timeout=TRANSFER_TIMEOUT)
            except s3.S3Error as exc:
                raise Unavailable(exc.reason) from exc
        else:
            await asyncio.to_thread(shutil.rmtree, _local(store, path), True)
    except Unavailable as exc:
        log.warning("backup_files_not_removed", storage=_name(store), path=path, reason=exc.reason)
