"""The README's benchmark commands run as written (with small sizes) and print their figures."""

from __future__ import annotations

import re
import subprocess
import sys

from bench import http_load
from tests.e2e.conftest import ROOT


def run_bench(module: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_queue_benchmark_prints_alternated_engine_and_raw_rates_beside_the_goal() -> None:
    # The embedded server only: the suite does not write into a shared Redis it has no key
    # prefix for (tests/conftest.py).
    out = run_bench("bench.queue", "--ops", "60", "--local-redis", "", "--rounds", "3")

    assert "3 rounds of raw and engine alternated" in out, out
    rates = re.search(
        r"^embedded\s+redis \S+\s+ops/s min / median / max: engine (\d+) / (\d+) / (\d+)"
        r"\s+raw streams (\d+) / (\d+) / (\d+)$",
        out,
        re.M,
    )
    ratio = re.search(
        r"^embedded\s+engine/raw ([\d.]+) / ([\d.]+) / ([\d.]+)\s+goal >= 0.5: (met|NOT met)$",
        out,
        re.M,
    )
    assert rates is not None and ratio is not None, out
    engine, raw = [int(n) for n in rates.groups()[:3]], [int(n) for n in rates.groups()[3:]]
    assert 0 < engine[0] <= engine[1] <= engine[2] and 0 < raw[0] <= raw[1] <= raw[2]
    low, median, high = (float(n) for n in ratio.groups()[:3])
    assert 0 < low <= median <= high
    assert (ratio[4] == "met") == (median >= 0.5)


def test_the_creates_benchmark_prints_defaults_beside_one_step_at_a_time_and_six_loops() -> None:
    out = run_bench("bench.creates", "--creates", "4", "--rounds", "1", "--timeout", "60")

    assert "simulator at time_scale 0 with every database modelled; 1 rounds alternated" in out
    number = r"[\d.]+ / +[\d.]+ / +[\d.]+"
    for label in ("defaults (3 loops x 8 steps)", "baseline OPERATION_CONCURRENCY=1"):
        row = re.search(
            rf"^  {re.escape(label)}\s+ops/s\s+{number}\s+p50 {number} s\s+p99 {number} s"
            rf"\s+app CPU {number} %\s+simulator CPU {number} %\s+app CPU/create {number} ms"
            rf"\s+cluster calls/create {number}\s+failed 0$",
            out,
            re.M,
        )
        assert row is not None, out
    assert re.search(r"^  NUM_OPERATION_WORKERS=6 \(x 8\)\s+ops/s", out, re.M), out
    calls = re.search(r"^  cluster calls per create \(last defaults run\): (.+)$", out, re.M)
    assert calls is not None and re.search(r"\bcreate postgreses [\d.]+", calls[1]), out
    goal = re.search(r"^  defaults median ([\d.]+) ops/s   goal >= 100: (met|NOT met)$", out, re.M)
    assert goal is not None, out
    assert (goal[2] == "met") == (float(goal[1]) >= 100)


def test_the_creates_benchmark_with_defaults_only_runs_no_baseline() -> None:
    out = run_bench(
        "bench.creates", "--creates", "2", "--rounds", "1", "--timeout", "60", "--defaults-only"
    )

    assert re.search(r"^  defaults \(3 loops x 8 steps\)\s+ops/s", out, re.M), out
    assert "OPERATION_CONCURRENCY=1" not in out and "NUM_OPERATION_WORKERS=6" not in out, out


def test_the_simulator_benchmark_prints_page_times_and_memory() -> None:
    out = run_bench("bench.simulator", "--databases", "600", "--page", "250", "--rounds", "1")

    pages = re.search(
        r"pages of 250: (\d+) pages over 1 rounds, mean ([\d.]+) ms, max "
        r"([\d.]+) ms per page",
        out,
    )
    memory = re.search(r"RSS: (\d+) MiB at start, (\d+) MiB loaded, (\d+) MiB after listing", out)
    assert pages is not None and memory is not None, out
    assert int(pages[1]) == 3  # 600 databases in pages of 250
    assert 0 < float(pages[2]) <= float(pages[3])
    assert 0 < int(memory[1]) <= int(memory[2])


def test_the_scale_benchmark_prints_passes_at_two_sizes_and_the_apps_memory_beside_goals() -> None:
    out = run_bench("bench.scale", "--databases", "300", "--base", "100", "--rounds", "3")

    passes = re.findall(
        r"^\s+(steady status sync|sync, 1 of 2 replicas|drift repair)\s+([\d,]+): "
        r"+([\d.]+) / +([\d.]+) / +([\d.]+) s"
        r"\s+per database .+ µs \(CPU .+ µs\)\s+cluster calls\s+(\d+)\s+\(goal",
        out,
        re.M,
    )
    assert [(p[0], p[1]) for p in passes] == [
        ("steady status sync", "100"),
        ("steady status sync", "300"),
        ("sync, 1 of 2 replicas", "100"),
        ("sync, 1 of 2 replicas", "300"),
        ("drift repair", "100"),
        ("drift repair", "300"),
    ], out
    assert all(float(low) <= float(mid) <= float(high) for _, _, low, mid, high, _ in passes)
    # One list per engine kind; the status sync also lists the AppBindings (the data plane).
    assert [int(p[5]) for p in passes] == [6, 6, 6, 6, 5, 5], out
    assert (
        len(
            re.findall(
                r"per-database cost \((?:wall|CPU)\) 300 / 100: [\d.]+x \(goal ≤ 1.2x\)", out
            )
        )
        == 6
    )
    apps = re.findall(
        r"^\s+([\d,]+) databases: RSS +([\d.]+) MiB \(peak +([\d.]+)\)"
        r".+start to healthy ([\d.]+) s",
        out,
        re.M,
    )
    assert [a[0] for a in apps] == ["0", "100", "300"], out
    assert all(0 < float(rss) <= float(peak) for _, rss, peak, _ in apps)


def test_the_narrow_listing_benchmark_prints_narrow_beside_whole_for_each_pass() -> None:
    out = run_bench("bench.narrow_listing", "--databases", "200", "--rounds", "2")

    rows = re.findall(
        r"^\s+(listing only|status sync|drift repair)\s+narrow +([\d.]+) µs \(CPU +[\d.]+\)"
        r"\s+whole +([\d.]+) µs \(CPU +[\d.]+\)\s+narrow/whole: wall ([\d.]+)x, CPU [\d.]+x",
        out,
        re.M,
    )
    assert [r[0] for r in rows] == ["listing only", "status sync", "drift repair"], out
    assert all(float(narrow) > 0 and float(whole) > 0 for _, narrow, whole, _ in rows)
    assert "200 databases, 2 rounds alternated" in out


def test_the_data_plane_benchmark_prints_connect_times_and_idle_memory() -> None:
    out = run_bench("bench.dataplane", "--databases", "2")

    assert re.search(r"postgres modelled, create to Ready \(baseline\): mean [\d.]+ s", out), out
    assert re.search(r"postgres real, create to first successful query: mean [\d.]+ s", out), out
    assert re.search(r"redis real, create to first successful query: mean [\d.]+ s", out), out
    assert re.search(r"memory of 2 idle real databases: \d+ MiB RSS", out), out


def test_the_backup_benchmark_prints_platform_and_baseline_figures_side_by_side() -> None:
    out = run_bench("bench.backup", "--megabytes", "2", "--rounds", "1")

    size = re.search(r"of a ([\d.]+) MB database \(pg_database_size; 2 MB of rows\), 1 rounds", out)
    dumps = re.search(r"Snapshot ([\d.]+) MB \(KubeStash model\), pg_dump -Fc ([\d.]+) MB", out)
    assert size is not None and dumps is not None, out
    assert float(size[1]) >= 2 and float(dumps[1]) > 0 and float(dumps[2]) > 0
    rows = re.findall(
        r"^(backup|restore|copy)\s+(platform|baseline)\s+(\S.*?)\s+([\d.]+)\s+([\d.]+)"
        r"\s+([\d.]+)\s+([\d.]+)$",
        out,
        re.M,
    )
    assert [(step, path) for step, path, *_ in rows] == [
        ("backup", "platform"),
        ("backup", "platform"),
        ("backup", "baseline"),
        ("restore", "platform"),
        ("restore", "platform"),
        ("restore", "platform"),
        ("restore", "platform"),
        ("restore", "baseline"),
        ("copy", "baseline"),
    ], out
    for *_, low, median, high, rate in rows:
        assert 0 < float(low) <= float(median) <= float(high) and float(rate) > 0, out
    ratios = re.search(r"backup ([\d.]+)x pg_dump -Fc; restore ([\d.]+)x pg_restore", out)
    assert ratios is not None and float(ratios[1]) > 0 and float(ratios[2]) > 0, out
    assert "limits: " in out


def test_the_console_list_benchmark_prints_the_page_beside_the_json_route() -> None:
    out = run_bench("bench.console_list", "--databases", "60", "--requests", "20")

    times = re.search(r"^server time, median \(ms\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$", out, re.M)
    sizes = re.search(r"^transfer size \(KiB\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$", out, re.M)
    assert times is not None and sizes is not None, out
    console, json_route, ratio = float(times[1]), float(times[2]), float(times[3])
    assert console > 0 and json_route > 0
    # Each figure is printed to 0.01 and the ratio is worked out before rounding: the two
    # agree within what the rounding of each can move a quotient.
    slack = 0.005 / json_route + console * 0.005 / json_route**2 + 0.005
    assert abs(ratio - console / json_route) <= slack
    assert float(sizes[1]) > 1 and float(sizes[2]) > 1  # a page of 20 rows each
    assert re.search(r"^goal: the console within 2x of JSON on both: (met|NOT met)$", out, re.M)


def test_the_reads_benchmark_prints_app_and_bare_rates_ratios_and_goals() -> None:
    out = run_bench(
        "bench.reads",
        "--python-load",  # wrk's windows are whole seconds; this one's are 0.3 s
        "--databases",
        "200",
        "--seconds",
        "0.3",
        "--rounds",
        "3",
        "--concurrency",
        "4",
    )

    assert re.search(r"^200 databases .+ seeded in [\d.]+ s$", out, re.M), out
    assert re.search(r"^load: .+, 0.3 s per window, 3 rounds of app and bare alternated", out, re.M)
    rows = re.findall(
        r"^\s+(app|bare)\s+(GET one|list of 20)\s+req/s\s+([\d]+) /\s+(\d+) /\s+(\d+)"
        r"\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms\s+non-200 (\d+)$",
        out,
        re.M,
    )
    assert [(side, route) for side, route, *_ in rows] == [
        ("app", "GET one"),
        ("bare", "GET one"),
        ("app", "list of 20"),
        ("bare", "list of 20"),
    ], out
    for *_, low, median, high, p50, p99, failed in rows:
        assert 0 < int(low) <= int(median) <= int(high), out
        assert 0 < float(p50) <= float(p99) and failed == "0", out
    ratios = re.findall(
        r"^\s+app/bare\s+(GET one|list of 20)\s+([\d.]+) / ([\d.]+) / ([\d.]+)"
        r"\s+goal >= (0.8|0.5): (met|NOT met)$",
        out,
        re.M,
    )
    assert [(route, goal) for route, *_, goal, _ in ratios] == [
        ("GET one", "0.8"),
        ("list of 20", "0.5"),
    ], out
    for _, low, median, high, goal, met in ratios:
        assert 0 < float(low) <= float(median) <= float(high)
        assert (met == "met") == (float(median) >= float(goal))
    tails = re.findall(r"^\s+app p99/p50 (GET one|list of 20)\s+([\d.]+)\s+goal <= 3: ", out, re.M)
    assert [route for route, _ in tails] == ["GET one", "list of 20"], out


WRK_REPORT = """Running 5s test @ http://127.0.0.1:18777/doc/x
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.81ms    2.03ms  31.22ms   88.10%
    Req/Sec     1.40k   161.50     1.96k    63.64%
  Latency Distribution
     50%  566.00us
     75%    6.46ms
     90%    8.09ms
     99%    1.10s
  13704 requests in 5.10s, 4.97MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 7
Requests/sec:   2687.06
Transfer/sec:    998.02KB
"""


def test_a_wrk_report_is_read_as_rate_latencies_in_milliseconds_and_failures() -> None:
    window = http_load.parse_wrk(WRK_REPORT)

    assert (window.rate, window.p99, window.failures) == (2687.06, 1100.0, 17)
    assert abs(window.p50 - 0.566) < 1e-9


def test_the_startup_benchmark_prints_the_app_beside_the_bare_floor_and_the_goal() -> None:
    out = run_bench("bench.startup", "--rounds", "1")

    app = re.search(
        r"^  app  python -m app, /health healthy\s+([\d.]+) +/ +([\d.]+) +/ +([\d.]+)$", out, re.M
    )
    bare = re.search(
        r"^  bare uvicorn bench.bare_app, /doc/x\s+([\d.]+) +/ +([\d.]+) +/ +([\d.]+)$", out, re.M
    )
    goal = re.search(r"^  app median ([\d.]+) s   goal <= 2 s: (met|NOT met)$", out, re.M)
    assert app is not None and bare is not None and goal is not None, out
    for found in (app, bare):
        low, median, high = (float(n) for n in found.groups())
        assert 0 < low <= median <= high
    assert (goal[2] == "met") == (float(goal[1]) <= 2)
