"""A simulator per test, served on a real loopback socket (port 0), and an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from simulator.server import Served, run_simulator


@pytest.fixture
async def sim() -> AsyncIterator[Served]:
    async with run_simulator("127.0.0.1", 0, seed=7) as served:
        yield served


@pytest.fixture
async def http(sim: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sim.url, headers=sim.admin_headers, timeout=5.0
    ) as client:
        yield client
