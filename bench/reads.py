"""The read API against a bare FastAPI endpoint, at the settings a user runs (issue 19).

    .venv/bin/python -m bench.reads [--databases 10000] [--seconds 5] [--rounds 3]
                                    [--concurrency 16] [--python-load]

Seeds N databases of the five engines in 10 projects into a SQLite store and (phase Ready)
the simulator, as `bench.scale` does, then starts two servers, each in its own process:

- the app, `python -m app`, at its defaults (LOG_LEVEL=INFO with its access log, the console
  log format, rate limiting on), except that the periodic passes are pushed to an hour (a
  status sync over 10,000 databases would otherwise land in some windows and not others)
  and the rate limit is raised far above the load (still on: its cost is measured, not its
  refusals);
- `bench.bare_app` under uvicorn, returning the app's own answers (the same document, the
  same page of 20) with no auth, store or middleware.

Then, `--rounds` times, app and bare alternately, one `--seconds` window each of
`GET …/databases/{id}` (500 databases in turn) and of `GET …/databases?page_size=20` (the 10
projects in turn), from the same load generator: `wrk` (16 connections, 2 threads) when it is
installed (`apt-get install wrk`), else the Python client in `bench.http_load`
(`--python-load` forces it). It prints min/median/max requests/s and the medians of p50/p99,
the app/bare ratio of each round (min/median/max), and the goals: ≥ 0.8 of bare for a GET,
≥ 0.5 for the list, the app's p99 ≤ 3 x its p50.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.domain.api_keys import new_token
from app.store.sqlite import SQLiteStore
from bench import http_load
from bench.http_load import Loader, Window
from bench.scale import PROJECTS, VERSIONS, seed, settled, simulated

GOALS = {"GET one": 0.8, "list of 20": 0.5}
P99_OVER_P50 = 3.0


@dataclass(frozen=True)
class Target:
    """What a window loads: the app's paths for one route and the bare path answering alike."""

    label: str
    app_paths: list[str]
    bare_path: str


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def report(target: Target, app: list[Window], bare: list[Window]) -> None:
    for side, windows in (("app ", app), ("bare", bare)):
        print(
            f"  {side} {target.label:<11} req/s {spread([w.rate for w in windows], '7.0f')}"
            f"   p50 {statistics.median(w.p50 for w in windows):6.2f} ms"
            f"   p99 {statistics.median(w.p99 for w in windows):6.2f} ms"
            f"   non-200 {sum(w.failures for w in windows)}"
        )
    ratios = [a.rate / b.rate for a, b in zip(app, bare, strict=True)]
    goal = GOALS[target.label]
    met = "met" if statistics.median(ratios) >= goal else "NOT met"
    print(f"  app/bare    {target.label:<11} {spread(ratios, '.2f')}   goal >= {goal:g}: {met}")
    tail = statistics.median(w.p99 / w.p50 for w in app)
    met = "met" if tail <= P99_OVER_P50 else "NOT met"
    print(f"  app p99/p50 {target.label:<11} {tail:.1f}   goal <= {P99_OVER_P50:g}: {met}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--python-load", action="store_true", help="never use wrk")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    loader = Loader(
        concurrency=args.concurrency, seconds=args.seconds, use_wrk=not args.python_load
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        data_dir = tmp / "var"
        data_dir.mkdir()
        path = data_dir / "kubedb-dbaas.sqlite3"
        await (await SQLiteStore.open(path)).close()  # the schema
        async with simulated(tmp) as (served, _admin, kubeconfig):
            began = time.perf_counter()
            databases = await seed(path, served, args.databases)
            print(
                f"{args.databases} databases ({', '.join(sorted(VERSIONS))}, {PROJECTS} "
                f"projects) seeded in {time.perf_counter() - began:.1f} s"
            )
            token = new_token()
            headers = {"Authorization": f"Bearer {token.text}"}
            app_port, bare_port = http_load.free_port(), http_load.free_port()
            env = http_load.app_env(
                data_dir,
                app_port,
                token.text,
                CLUSTER_KUBECONFIG=str(kubeconfig),
                **http_load.IDLE_PASSES,
                **http_load.NO_RATE_LIMITS,
            )
            gets = [
                f"/api/v1/domain/acme/project/{d.project}/databases/{d.id}"
                for d in databases[:: max(1, len(databases) // 500)]
            ]
            lists = [
                f"/api/v1/domain/acme/project/p{p}/databases?page_size=20" for p in range(PROJECTS)
            ]
            with http_load.server(["-m", "app"], app_port, env, tmp / "app.log") as app:
                await http_load.ready(app, "/health", check=settled)
                async with httpx.AsyncClient(base_url=app.url, headers=headers) as client:
                    document = (await client.get(gets[0])).content
                    page = (await client.get(lists[0])).content
                (tmp / "document.json").write_bytes(document)
                (tmp / "page.json").write_bytes(page)
                bare_env = {
                    "BARE_DOCUMENT": str(tmp / "document.json"),
                    "BARE_PAGE": str(tmp / "page.json"),
                }
                with http_load.server(
                    http_load.bare_command(bare_port), bare_port, bare_env, tmp / "bare.log"
                ) as bare:
                    await http_load.ready(bare, "/doc/x")
                    targets = [
                        Target("GET one", gets, "/doc/x"),
                        Target("list of 20", lists, "/docs"),
                    ]
                    print(
                        f"load: {loader.describe()}, {args.seconds:g} s per window, "
                        f"{args.rounds} rounds of app and bare alternated "
                        f"(document {len(document)} bytes, page {len(page)} bytes)"
                    )
                    for target in targets:
                        app_windows, bare_windows = [], []
                        for _ in range(args.rounds):
                            app_windows.append(
                                await loader.window(app.url, target.app_paths, headers)
                            )
                            bare_windows.append(await loader.window(bare.url, [target.bare_path]))
                        report(target, app_windows, bare_windows)


if __name__ == "__main__":
    asyncio.run(main())
