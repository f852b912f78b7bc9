"""The console's database list beside the JSON list route, for a project of 1,000 databases.

    .venv/bin/python -m bench.console_list [--databases 1000] [--requests 200]

It seeds a SQLite store directly (as `bench.scale` does): `--databases` databases of mixed
engines in one project, each with two ended operations (so the page's "last operation"
column reads real rows), then starts the app (`python -m app`: uvicorn, one process, as
deployed; no cluster, its workers idle) on that store, signs in to the console with the
admin key, and times, A/B alternated on one keep-alive connection each, `--requests` GETs
of:

- the console: `/console/domain/acme/project/shop/databases` (the HTML page: 20 rows with
  badges, provider and last operation, sortable headers, filters, pager);
- JSON: `GET /api/v1/domain/acme/project/shop/databases?page_size=20` (the same page).

Server time is a request's first byte sent to its last byte read, over loopback (the
client is a bare HTTP/1.1 reader, so its own cost is small beside the server's). Transfer
size is the body's bytes (the app does not compress). Printed side by side with the ratio;
the goal (issue 17): the console within 2x of JSON on both. Everything lives in a
temporary folder the bench removes at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from app.console.database_lists import PAGE_SIZE
from app.domain import clock, sizes
from app.domain.api_keys import new_token
from app.domain.databases import Database, DatabaseStatus
from app.domain.operations import Operation, OperationStatus
from app.domain.providers import demand_for
from app.services.placement import reserved_fields
from app.store.sqlite import SQLiteStore
from bench.http_load import NO_RATE_LIMITS, app_env, free_port, ready, server
from bench.scale import VERSIONS

CONSOLE = "/console/domain/acme/project/shop/databases"
JSON = "/api/v1/domain/acme/project/shop/databases"
GOAL = 2.0


async def seed(store: SQLiteStore, count: int) -> None:
    """Records as placement leaves them (reserved and counted), so the app's first
    reconciliation pass has nothing to settle while the bench measures."""
    engines = sorted(VERSIONS)
    start = clock.utcnow() - timedelta(days=1)
    table = sizes.default_size_table()
    held = reserved_fields(demand_for(table.default, replicas=1, storage_gb=20))
    for i in range(count):
        engine = engines[i % len(engines)]
        database = await store.databases.insert(
            Database(
                name=f"db-{i:04d}",
                domain="acme",
                project="shop",
                engine=engine,
                version=VERSIONS[engine],
                status=DatabaseStatus.RUNNING,
                size=table.default_name,
                storage_gb=20,
                provider_id="prv-local",
                counted=True,
                **held,
                created_at=start + timedelta(seconds=i),
            )
        )
        for step, kind in enumerate(("create", "restart")):
            operation = Operation(
                database_id=database.id,
                domain="acme",
                project="shop",
                type=kind,
                created_at=start + timedelta(seconds=i, milliseconds=step),
            )
            await store.operations.create_active(operation)
            for status in (OperationStatus.RUNNING, OperationStatus.SUCCEEDED):
                await store.operations.update_fields(operation.id, {"status": status})


@dataclass
class Connection:
    """One keep-alive HTTP/1.1 connection, read by hand (no client library's cost)."""

    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes, float]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{extra}\r\n".encode()
        began = time.perf_counter()
        self.writer.write(request)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return status, body, time.perf_counter() - began

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def console_cookie(base: str, token: str) -> str:
    """Sign in as a browser does: the form's CSRF cookie and token, then the session."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        form = await client.get("/console/sign-in")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found, "the sign-in page has no CSRF token"
        answer = await client.post(
            "/console/sign-in", data={"csrf": found.group(1), "api_key": token, "next": ""}
        )
        assert answer.status_code == 303, answer.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def measure(base: str, token: str, requests: int, page_size: int) -> dict[str, list[float]]:
    host, port = base.removeprefix("http://").split(":")
    cookie = await console_cookie(base, token)
    console = Connection(host, int(port), {"Cookie": cookie})
    api = Connection(host, int(port), {"Authorization": f"Bearer {token}"})
    paths = {"console": CONSOLE, "json": f"{JSON}?page_size={page_size}"}
    clients = {"console": console, "json": api}
    figures: dict[str, list[float]] = {
        "console": [],
        "json": [],
        "console_bytes": [],
        "json_bytes": [],
    }
    try:
        for _ in range(20):  # imports, templates, caches
            for name in paths:
                await clients[name].get(paths[name])
        for i in range(requests):
            order = ("console", "json") if i % 2 == 0 else ("json", "console")
            for name in order:
                status, body, seconds = await clients[name].get(paths[name])
                if status != 200:
                    raise RuntimeError(f"{paths[name]} answered {status}: {body[:300]!r}")
                figures[name].append(seconds)
                figures[f"{name}_bytes"].append(len(body))
    finally:
        console.close()
        api.close()
    return figures


def table(figures: dict[str, list[float]], databases: int, requests: int, page_size: int) -> str:
    console_ms = statistics.median(figures["console"]) * 1000
    json_ms = statistics.median(figures["json"]) * 1000
    console_kb = statistics.median(figures["console_bytes"]) / 1024
    json_kb = statistics.median(figures["json_bytes"]) / 1024
    time_ratio = console_ms / json_ms
    size_ratio = console_kb / json_kb
    met = time_ratio <= GOAL and size_ratio <= GOAL
    return "\n".join(
        [
            f"A project of {databases} databases (2 operations each), a page of {page_size}, "
            f"{requests} requests each, A/B alternated, one keep-alive connection each",
            f"{'':<28} {'console (HTML)':>15} {'JSON route':>12} {'ratio':>7}",
            f"{'server time, median (ms)':<28} {console_ms:>15.2f} {json_ms:>12.2f} "
            f"{time_ratio:>6.2f}x",
            f"{'server time, p90 (ms)':<28} "
            f"{statistics.quantiles(figures['console'], n=10)[-1] * 1000:>15.2f} "
            f"{statistics.quantiles(figures['json'], n=10)[-1] * 1000:>12.2f}",
            f"{'transfer size (KiB)':<28} {console_kb:>15.1f} {json_kb:>12.1f} {size_ratio:>6.2f}x",
            f"goal: the console within {GOAL:g}x of JSON on both: {'met' if met else 'NOT met'}",
        ]
    )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        tmp = Path(folder)
        data_dir = tmp / "var"
        store = await SQLiteStore.open(data_dir / "kubedb-dbaas.sqlite3")
        try:
            began = time.perf_counter()
            await seed(store, args.databases)
            print(f"seeded {args.databases} databases in {time.perf_counter() - began:.1f} s")
        finally:
            await store.close()
        token = new_token()
        port = free_port()
        env = app_env(
            data_dir,
            port,
            token.text,
            LOG_LEVEL="WARNING",
            RECONCILE_INTERVAL="3600",
            **NO_RATE_LIMITS,
        )
        with server(["-m", "app"], port, env, tmp / "app.log") as app:
            await ready(app, "/health")
            figures = await measure(app.url, token.text, args.requests, PAGE_SIZE)
    print(table(figures, args.databases, args.requests, PAGE_SIZE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
