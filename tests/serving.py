"""The app served by uvicorn on a free port with the simulator as its cluster, in a thread
of its own: for clients that need a real socket (a browser, the `kdb` command line run as a
subprocess).

The app starts as on a first start: no ADMIN_API_KEY, so it writes DATA_DIR/admin-api-key,
which the tests read as a user would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from app.broker.keys import RedisKeys
from app.config.settings import Settings
from app.main import create_app
from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests import support
from tests.support import free_port


@dataclass
class Served:
    url: str
    admin_token: str
    # The simulator, for its knobs (`simulator.config.update(...)`: faults, real databases).
    simulator: Simulator
    # The app's DATA_DIR (its SQLite store), for a test that seeds records directly.
    data_dir: Path

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            timeout=10,
        )


@dataclass
class _Holder:
    server: uvicorn.Server | None = None
    error: BaseException | None = None


def serve(
    settings: Settings,
    redis_url: str,
    folder: Path,
    *,
    name: str = "served-app",
    knobs: dict[str, object] | None = None,
) -> Iterator[Served]:
    """Run the app and the simulator (its `knobs` set before it serves) until the generator
    is closed."""
    port = free_port()
    holder = _Holder()
    simulator = Simulator(plugins=[install])

    async def main() -> None:
        async with run_simulator(simulator=simulator) as cluster:
            cluster.simulator.config.update({"time_scale": 0.005, **(knobs or {})})
            kubeconfig = folder / "kubeconfig"
            kubeconfig.write_text(json.dumps(cluster.kubeconfig()))
            app = create_app(
                settings.model_copy(
                    update={
                        "redis_url": redis_url,
                        "cluster_kubeconfig": kubeconfig,
                        "operation_poll_interval": 0.05,
                        "operation_step_timeout": 5,
                        "operation_visibility_timeout": 10,
                        "operation_retry_initial": 0.05,
                        "status_sync_interval": 0.5,
                    }
                )
            )
            config = uvicorn.Config(
                # log_config None: uvicorn must not reconfigure the test process's logging
                # (tests/unit/test_logging.py, when on the same worker, reads it).
                app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                lifespan="on",
            )
            holder.server = uvicorn.Server(config)
            await holder.server.serve()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the waiting test
            holder.error = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if holder.error is not None or not thread.is_alive():
            raise AssertionError(f"the app did not start: {holder.error!r}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the app was not healthy within 30 s")
        time.sleep(0.05)
    key_file = settings.data_dir / "admin-api-key"
    try:
        yield Served(
            url=url,
            admin_token=key_file.read_text().strip(),
            simulator=simulator,
            data_dir=settings.data_dir,
        )
    finally:
        if holder.server is not None:
            holder.server.should_exit = True
        thread.join(timeout=30)


def served_app(
    folder: Path, redis_url: str, *, name: str, knobs: dict[str, object] | None = None
) -> Iterator[Served]:
    """`serve` with the settings the socket-level tests share (two workers, no rate limits,
    Redis keys of its own, deleted afterwards), its data under `folder`."""
    keys = RedisKeys(f"test-{name}-{uuid.uuid4().hex[:8]}")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=folder / "var",
        redis_key_prefix=keys.prefix,
        instance_id=f"{name}-test",
        num_operation_workers=2,
        operation_read_block=0.1,
        rate_limit_per_minute=0,
        anonymous_rate_limit_per_minute=0,
    )
    try:
        yield from serve(settings, redis_url, folder, name=f"{name}-app", knobs=knobs)
    finally:
        support.delete_keys(redis_url, keys.pattern)
