"""`python -m app` as users and operators run it: start, health, logs, SIGTERM, restart."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

from tests.e2e.conftest import ROOT, AppProcess, pid_alive
from tests.support import free_port, simulator_access

MakeApp = Callable[..., AppProcess]


def test_a_fresh_process_starts_healthy_logs_plainly_and_stops_cleanly_on_sigterm(
    make_app: MakeApp,
) -> None:
    app = make_app().start()
    health = app.wait_healthy()
    traced = httpx.get(f"{app.url}/health/live", headers={"X-Request-ID": "e2e-trace-1"})
    redis_pid = app.embedded_redis_pid()

    code, took = app.terminate()

    log = app.log
    assert health.json()["status"] == "healthy"
    assert re.search(r"^leadership_acquired instance_id=kubedb-dbaas-abc123 ", log, re.M)
    assert re.search(r"^operation_workers_started count=3 ", log, re.M)
    assert re.search(
        r"^http_request method=GET path=/health/live status=200 duration_ms=[0-9.]+ "
        r"client=127\.0\.0\.1:[0-9]+ request_id=e2e-trace-1 instance_id=kubedb-dbaas-abc123 ",
        log,
        re.M,
    )
    assert traced.headers["x-request-id"] == "e2e-trace-1"
    # uvicorn re-raises the signal after its graceful shutdown: the exit is "by SIGTERM".
    assert code in (0, -signal.SIGTERM) and took < 10
    assert re.search(r"^stopped instance_id=kubedb-dbaas-abc123 ", log, re.M)
    assert "leadership_released instance_id=kubedb-dbaas-abc123" in log
    assert not pid_alive(redis_pid), "the embedded Redis outlived the app"


def test_a_restart_keeps_the_embedded_redis_data_and_the_admin_key(make_app: MakeApp) -> None:
    first = make_app().start()
    first.wait_healthy()
    socket = first.data_dir / "redis" / "redis.sock"
    client = redis.Redis(unix_socket_path=str(socket))
    client.set("e2e:survives", "yes")
    client.close()
    key = (first.data_dir / "admin-api-key").read_text()
    first.terminate()

    second = make_app().start()
    second.wait_healthy()
    client = redis.Redis(unix_socket_path=str(socket))
    value = client.get("e2e:survives")
    client.close()
    second.terminate()

    assert value == b"yes"
    assert (second.data_dir / "admin-api-key").read_text() == key
    assert second.log.count("bootstrap_admin_key_written") == 1  # both runs share the log


def test_a_killed_process_takes_its_embedded_redis_with_it_and_starts_again(
    make_app: MakeApp,
) -> None:
    app = make_app().start()
    app.wait_healthy()
    redis_pid = app.embedded_redis_pid()

    app.kill()
    deadline = time.monotonic() + 10
    while pid_alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not pid_alive(redis_pid)
    again = make_app().start()
    assert again.wait_healthy().json()["status"] == "healthy"
    again.terminate()


def test_two_instances_on_one_redis_elect_exactly_one_leader(
    make_app: MakeApp, embedded_redis_url: str
) -> None:
    one = make_app("one", REDIS_URL=embedded_redis_url, INSTANCE_ID="instance-one").start()
    two = make_app("two", REDIS_URL=embedded_redis_url, INSTANCE_ID="instance-two").start()
    one.wait_healthy()
    two.wait_healthy()

    def leaders() -> list[bool]:
        return [httpx.get(f"{a.url}/health").json()["leader"]["is_leader"] for a in (one, two)]

    deadline = time.monotonic() + 10
    while sum(leaders()) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    views = {httpx.get(f"{a.url}/health").json()["leader"]["instance_id"] for a in (one, two)}
    first_leaders = leaders()
    leader, standby = (one, two) if first_leaders[0] else (two, one)
    leader.terminate()
    deadline = time.monotonic() + 5
    while not httpx.get(f"{standby.url}/health").json()["leader"]["is_leader"]:
        assert time.monotonic() < deadline, "the standby did not take over"
        time.sleep(0.05)
    standby.terminate()

    assert sum(first_leaders) == 1
    assert len(views) == 1  # both instances name the same leader


def test_a_bad_setting_stops_the_process_with_one_line_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": "/usr/bin:/bin",
            "NUM_OPERATION_WORKERS": "0",
            "REDIS_URL": "redis://user:topsecret@nowhere:6379",
        },
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "NUM_OPERATION_WORKERS" in lines[0] and "greater than or equal to 1" in lines[0]
    assert "topsecret" not in result.stderr + result.stdout


def test_json_logs_are_one_object_per_line(make_app: MakeApp) -> None:
    app = make_app(LOG_FORMAT="json").start()
    app.wait_healthy()
    app.terminate()

    records = [json.loads(line) for line in app.log.splitlines() if line.strip()]
    events = {r["event"] for r in records}
    assert {"leadership_acquired", "operation_workers_started", "stopped"} <= events
    assert all("level" in r and "timestamp" in r for r in records)


def test_make_run_status_and_stop_manage_one_background_copy(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir),
        "PORT": str(free_port()),
        "PY": sys.executable,
    }

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        run = make("run")
        again = make("run")
        status = make("status")
        first_pid = int((data_dir / "app.pid").read_text())
        restart = make("restart")
        pid = int((data_dir / "app.pid").read_text())
        redis_pid = int((data_dir / "redis" / "redis.pid").read_text())
        simulator_pid = int((data_dir / "simulator.pid").read_text())
        health = httpx.get(f"http://127.0.0.1:{env['PORT']}/health", timeout=5).json()
        kubeconfig = json.loads((data_dir / "kubeconfig").read_text())
        server = kubeconfig["clusters"][0]["cluster"]["server"]
        version = httpx.get(f"{server}/version", timeout=5, **simulator_access(kubeconfig))
        readme_curl = _run_readme_curl(data_dir, env["PORT"])
        kdb_list = _run_printed_kdb_login(run.stdout, tmp_path / "home")
        logs = _follow_logs_until(env, r"^leadership_acquired instance_id=", timeout=10)
    finally:
        stop = make("stop")
    stopped_status = make("status")

    assert run.returncode == 0, run.stderr
    assert f"http://127.0.0.1:{env['PORT']}" in run.stdout
    assert "Authorization: Bearer" in run.stdout
    assert f"export KUBECONFIG={data_dir.resolve()}/kubeconfig" in run.stdout
    assert health["components"]["cluster"] == "up"
    assert version.status_code == 200 and "gitVersion" in version.json()
    if readme_curl is not None:
        assert [v["version"] for v in json.loads(readme_curl)["postgres"]][:1] == ["18.3"]
    assert kdb_list.returncode == 0 and json.loads(kdb_list.stdout) == [], kdb_list.stderr
    assert "already running" in again.stdout
    assert status.returncode == 0 and '"status":"healthy"' in status.stdout
    assert restart.returncode == 0 and pid != first_pid and not pid_alive(first_pid)
    assert re.search(r"^leadership_acquired instance_id=", logs, re.M)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    assert not pid_alive(pid) and not pid_alive(redis_pid) and not pid_alive(simulator_pid)
    assert stopped_status.returncode != 0 and "not running" in stopped_status.stdout
    assert not (data_dir / "app.pid").exists()


def _follow_logs_until(env: dict[str, str], pattern: str, *, timeout: float) -> str:
    """`make logs` (it follows the log until stopped) until a line matches `pattern` or
    `timeout` passes; then it is stopped, and what it printed is returned."""
    process = subprocess.Popen(
        ["make", "--no-print-directory", "logs"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make, the script and its tail: one group to stop
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if re.search(pattern, line):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        found.wait(timeout)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
    return "".join(lines)


def _run_printed_kdb_login(printed: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The `kdb login` line `make run` printed, as a user would paste it in a new shell, then
    `kdb db list -o json` with the profile it saved."""
    line = next(x for x in printed.splitlines() if x.strip().startswith("CLI:"))
    login = line.split("CLI:", 1)[1].strip()
    kdb = login.split()[0]
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg")}
    script = f"{login} && {kdb} db list -o json"
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30
    )


def _run_readme_curl(data_dir: Path, port: str) -> str | None:
    """The README's curl example, as written but for this run's data dir and port."""
    if shutil.which("curl") is None:
        return None
    readme = (ROOT / "README.md").read_text()
    api_section = readme.split("\n## API\n", 1)[1]
    script = api_section.split("```sh\n", 1)[1].split("```", 1)[0]
    assert script.startswith("KEY=$(cat var/admin-api-key)")
    script = script.replace("var/", f"{data_dir}/").replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_images_command_serves_the_app_and_every_json_line_names_the_instance(
    make_app: MakeApp,
) -> None:
    app = make_app(LOG_FORMAT="json", INSTANCE_ID="kubedb-dbaas-7f9c")
    app.start(
        [
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(app.port),
            "--workers",
            "1",
        ]
    )
    health = app.wait_healthy()
    live = httpx.get(f"{app.url}/health/live")

    code, _ = app.terminate()

    assert health.json()["instance_id"] == "kubedb-dbaas-7f9c"
    assert live.status_code == 200
    # uvicorn's CLI re-raises the signal once it has shut down cleanly ("stopped" below).
    assert code in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in app.log.splitlines() if line.startswith("{")]
    assert len(lines) > 5 and all(line["instance_id"] for line in lines)
    events = {line["event"] for line in lines}
    assert {"started", "leadership_acquired", "stopped"} <= events


def test_a_second_process_on_the_same_data_dir_refuses_to_start_with_one_line(
    make_app: MakeApp,
) -> None:
    first = make_app().start()
    first.wait_healthy()

    second = make_app("second", DATA_DIR=str(first.data_dir)).start()
    assert second.proc is not None
    code = second.proc.wait(timeout=20)

    lines = [line for line in second.log.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1, lines
    assert "another kubedb-dbaas process" in lines[0] and str(first.data_dir) in lines[0]
    assert httpx.get(f"{first.url}/health", timeout=5).status_code == 200
    first.terminate()
