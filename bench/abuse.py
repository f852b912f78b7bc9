"""Issue 12, items 1-3, replayed against `make run`: a hostile client's costs, side by side.

    .venv/bin/python -m bench.abuse

Bounded and loopback only: `make run` with its own DATA_DIR (a temporary directory), its
own port and its own embedded Redis (REDIS_URL unset), stopped with `make stop` at the end.

1. Time to answer (401, no key) a short URL vs the 10,000-character URL of the issue
   (`?name=aaaa...`), median of a few tries each. Goal: within 2x.
2. The app's RSS before and after the issue's label flood (a create with 400,000 labels,
   5.5 MB). Goal: under +20 MB.
3. Audit entries written into tenant acme/shop by 300 anonymous
   `POST .../databases/anon-junk-N/restart`. Goal: 0 (item 3, another change).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BASE = "/api/v1/domain/acme/project/shop/databases"
# Tries of each URL, interleaved, after one warm-up: 1 + 2 * 9 stays inside the default
# burst of requests without a key (20), so every one is answered 401, not 429.
TRIES = 9
ANONYMOUS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make(target: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise SystemExit(f"make {target} failed:\n{done.stdout}{done.stderr}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


def timed(client: httpx.Client, url: str) -> tuple[int, float]:
    began = time.perf_counter()
    status = client.get(url).status_code
    return status, time.perf_counter() - began


def audit_total(client: httpx.Client, url: str, key: str) -> int:
    answer = client.get(
        f"{url}/api/v1/audit",
        params={"domain": "acme", "project": "shop"},
        headers={"Authorization": f"Bearer {key}"},
    )
    answer.raise_for_status()
    return int(answer.json()["total"])


def settled_total(client: httpx.Client, url: str, key: str) -> int:
    """The audit total once it stops moving (entries are written after each answer)."""
    last, deadline = audit_total(client, url, key), time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = audit_total(client, url, key)
        if now == last:
            return now
        last = now
    return last


def run(url: str, data_dir: Path) -> list[tuple[str, str, str, str]]:
    key = (data_dir / "admin-api-key").read_text().strip()
    pid = int((data_dir / "app.pid").read_text().strip())
    rows = []
    with httpx.Client(timeout=120) as client:
        timed(client, f"{url}{BASE}?name=a")  # warm-up: connection, first-call costs
        short, long = [], []
        for _ in range(TRIES):
            short.append(timed(client, f"{url}{BASE}?name=a"))
            long.append(timed(client, f"{url}{BASE}?name={'a' * 10_000}"))
        short_s = statistics.median(t for _, t in short)
        long_s = statistics.median(t for _, t in long)
        rows.append(
            (
                "1. answer, no key: short URL vs 10,000 chars",
                f"{short_s * 1000:.1f} ms vs {long_s * 1000:.1f} ms "
                f"(statuses {sorted({s for s, _ in short + long})})",
                f"{long_s / short_s:.2f}x",
                "within 2x",
            )
        )

        before = rss_mb(pid)
        flood = {
            "name": "flood",
            "engine": "postgres",
            "version": "16.13",
            "labels": {f"k{i}": f"v{i}" for i in range(400_000)},
        }
        answer = client.post(f"{url}{BASE}", json=flood, headers={"Authorization": f"Bearer {key}"})
        after = rss_mb(pid)
        rows.append(
            (
                "2. RSS around the 400,000-label create",
                f"{before:.1f} MB -> {after:.1f} MB (answer {answer.status_code})",
                f"{after - before:+.1f} MB",
                "under +20 MB",
            )
        )

        first = settled_total(client, url, key)
        statuses = {
            client.post(f"{url}{BASE}/anon-junk-{n}/restart").status_code for n in range(ANONYMOUS)
        }
        written = settled_total(client, url, key) - first
        rows.append(
            (
                f"3. audit entries in acme/shop from {ANONYMOUS} anonymous POSTs",
                f"answers {sorted(statuses)}",
                str(written),
                "0",
            )
        )
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="abuse-") as tmp:
        data_dir = Path(tmp) / "var"
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MONGODB_", "REDIS_", "CLUSTER_"))
        }
        env.update(
            {
                "DATA_DIR": str(data_dir),
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "PY": sys.executable,
            }
        )
        url = f"http://127.0.0.1:{port}"
        make("run", env)
        try:
            rows = run(url, data_dir)
        finally:
            make("stop", env)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'measured':<48} {'result':>10}  goal")
    for name, measured, result, goal in rows:
        print(f"{name:<{width}}  {measured:<48} {result:>10}  {goal}")
    return 0


if __name__ == "__main__":
    if shutil.which("make") is None:
        raise SystemExit("bench.abuse needs make (it drives `make run`)")
    sys.exit(main())
