"""The README's benchmark commands run as written (with small sizes) and print their figures."""

from __future__ import annotations

import re
import subprocess
import sys

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


def test_the_queue_benchmark_prints_engine_and_raw_rates_for_the_embedded_redis() -> None:
    # The embedded server only: the suite does not write into a shared Redis it has no key
    # prefix for (tests/conftest.py).
    out = run_bench("bench.queue", "--ops", "60", "--local-redis", "")

    line = re.search(
        r"^embedded\s+redis \S+\s+engine\s+(\d+) ops/s\s+raw streams\s+(\d+) "
        r"ops/s\s+engine/raw\s+([\d.]+)$",
        out,
        re.M,
    )
    assert line is not None, out
    engine, raw, ratio = int(line[1]), int(line[2]), float(line[3])
    assert engine > 0 and raw > 0
    assert abs(ratio - engine / raw) < 0.01


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


def test_the_scale_benchmark_prints_pass_figures_and_app_against_bare_http_figures() -> None:
    out = run_bench("bench.scale", "--databases", "300", "--seconds", "0.5", "--concurrency", "4")

    passes = re.findall(
        r"^(status sync, .+?|reconcile \(drift repair\) pass)\s+([\d.]+) s"
        r"\s+cluster calls\s+(\d+)",
        out,
        re.M,
    )
    assert [p[0] for p in passes] == [
        "status sync, cold (writes all)",
        "status sync, steady (no change)",
        "status sync, 30 turned Critical",
        "reconcile (drift repair) pass",
    ], out
    # One list per engine kind; the status sync also lists the AppBindings (the data plane).
    assert [int(calls) for _, _, calls in passes] == [6, 6, 6, 5], out
    http = re.findall(
        r"^\s+(app|bare) .+?(\d+) req/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms"
        r"\s+non-200 (\d+)$",
        out,
        re.M,
    )
    assert len(http) == 4, out
    assert all(
        int(rate) > 0 and float(p50) <= float(p99) and failed == "0"
        for _, rate, p50, p99, failed in http
    )
    assert re.search(r"^app/bare throughput: GET one [\d.]+, list [\d.]+$", out, re.M)


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
    assert float(times[1]) > 0 and float(times[2]) > 0
    assert abs(float(times[3]) - float(times[1]) / float(times[2])) < 0.02
    assert float(sizes[1]) > 1 and float(sizes[2]) > 1  # a page of 20 rows each
    assert re.search(r"^goal: the console within 2x of JSON on both: (met|NOT met)$", out, re.M)
