"""An elector in a process of its own, so a test can kill it without it releasing the lease.

    python -m tests.integration.elector_process REDIS_URL KEY INSTANCE_ID TTL RETRY

Prints `leading <epoch>` once it leads, then keeps renewing until killed.
"""

from __future__ import annotations

import asyncio
import sys

from app.broker.client import make_client
from app.config.settings import LogFormat, LogLevel
from app.observability.log import configure_logging
from app.workers.leader_election import LeaderElector, Leadership


async def main(url: str, key: str, instance_id: str, ttl: float, retry: float) -> None:
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE, stream=sys.stderr)
    client = make_client(url)
    elector = LeaderElector(client, instance_id=instance_id, ttl=ttl, retry_interval=retry, key=key)

    async def lead(leadership: Leadership) -> None:
        print(f"leading {leadership.epoch}", flush=True)
        await asyncio.Event().wait()

    await elector.run(lead, asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])))
