"""Start to healthy: `python -m app` beside a bare FastAPI app under uvicorn (issue 19).

    .venv/bin/python -m bench.startup [--rounds 5]

Times, in alternated rounds, a process from spawn to its first good answer:

- the app, `python -m app` at its defaults on a fresh DATA_DIR (as a first run: the embedded
  Redis and cluster start, the admin key is made), until `GET /health` answers 200 with
  `status` `healthy`;
- the floor, `bench.bare_app` under uvicorn (one process, as `python -m app` runs), until
  `GET /doc/x` answers 200: an interpreter, FastAPI's import and uvicorn's start-up.

Each is then stopped with SIGTERM and waited for, so rounds never overlap. Prints the
minimum, median and maximum in seconds, the app's median over the floor's, and the goal:
the app healthy within 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import http_load

GOAL_SECONDS = 2.0
TIMEOUT = 60.0
POLL_SECONDS = 0.01


def _answer(port: int, path: str) -> tuple[int, bytes] | None:
    """The status and body of `GET path`, or None while nothing listens."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return None
    finally:
        connection.close()


def _healthy(answer: tuple[int, bytes]) -> bool:
    status, body = answer
    return status == 200 and json.loads(body).get("status") == "healthy"


def _good(answer: tuple[int, bytes]) -> bool:
    return answer[0] == 200


def timed(
    command: list[str],
    port: int,
    path: str,
    env: dict[str, str],
    log: Path,
    done: Callable[[tuple[int, bytes]], bool],
) -> float:
    """Seconds from spawn until `done(answer)` holds for `GET path`; the process is then
    stopped (SIGTERM) and waited for."""
    with log.open("w") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=http_load.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = began + TIMEOUT
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command} exited with {process.returncode}:\n{log.read_text()}"
                )
            answer = _answer(port, path)
            if answer is not None and done(answer):
                return time.perf_counter() - began
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"{command} did not answer {path} within {TIMEOUT:g} s")
    finally:
        http_load.stop(process)


def spread(values: list[float]) -> str:
    return " / ".join(f"{v:5.2f}" for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # The user's environment, less any Redis or MongoDB the shell points at: the defaults.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))}
    app_times: list[float] = []
    bare_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        document = tmp / "document.json"
        document.write_text(json.dumps({"id": "db-x", "name": "x"}))
        for round_ in range(args.rounds):
            data_dir = tmp / f"var-{round_}"
            port = http_load.free_port()
            env = {**base, "DATA_DIR": str(data_dir), "HOST": "127.0.0.1", "PORT": str(port)}
            app_times.append(timed(["-m", "app"], port, "/health", env, tmp / "app.log", _healthy))
            port = http_load.free_port()
            bare_env = {**base, "BARE_DOCUMENT": str(document)}
            bare_times.append(
                timed(
                    http_load.bare_command(port), port, "/doc/x", bare_env, tmp / "bare.log", _good
                )
            )
    print(f"spawn to first good answer, {args.rounds} alternated rounds (s, min / median / max)")
    print(f"  app  python -m app, /health healthy   {spread(app_times)}")
    print(f"  bare uvicorn bench.bare_app, /doc/x   {spread(bare_times)}")
    app_median = statistics.median(app_times)
    print(f"  app/bare median {app_median / statistics.median(bare_times):.1f}x")
    met = "met" if app_median <= GOAL_SECONDS else "NOT met"
    print(f"  app median {app_median:.2f} s   goal <= {GOAL_SECONDS:g} s: {met}")


if __name__ == "__main__":
    main()
