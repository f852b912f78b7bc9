"""Start-up of the `kdb` command line, beside the floors it cannot beat.

    .venv/bin/python -m bench.cli_startup [--runs 21]

Times, in alternated rounds, a whole process from spawn to exit: `kdb --help` (the installed
console script: the goal of issue 18 is under 300 ms), `kdb db --help` (a group's help),
beside `curl --version` (a small native client: the floor for any command-line tool) and
`python -c pass` (this interpreter's own start-up: the floor for a Python one). Prints the
minimum, median and maximum of each in milliseconds, and the CLI's median over each floor.
Nothing is cached between runs but what the OS caches for every process alike.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_MS = 300.0
BIN = Path(sys.executable).parent


def commands() -> dict[str, list[str]]:
    found = {
        "kdb --help": [str(BIN / "kdb"), "--help"],
        "kdb db --help": [str(BIN / "kdb"), "db", "--help"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    curl = shutil.which("curl")
    if curl is not None:
        found["curl --version"] = [curl, "--version"]
    return found


def once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    timed = commands()
    for argv in timed.values():  # warm the OS's file cache for every one alike
        once(argv)
    samples: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.runs):
        for name, argv in timed.items():
            samples[name].append(once(argv))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"process start-up to exit, {args.runs} alternated runs (ms)")
    print(f"{'command':<16} {'min':>7} {'median':>7} {'max':>7}")
    for name, values in samples.items():
        print(f"{name:<16} {min(values):7.1f} {medians[name]:7.1f} {max(values):7.1f}")
    cli = medians["kdb --help"]
    for floor in ("curl --version", "python -c pass"):
        if floor in medians:
            print(f"kdb --help / {floor}: {cli / medians[floor]:.1f}x")
    verdict = "within" if cli < GOAL_MS else "over"
    print(f"kdb --help median {cli:.0f} ms: {verdict} the {GOAL_MS:.0f} ms goal")


if __name__ == "__main__":
    main()
