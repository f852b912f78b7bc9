"""The deployment files, checked as operators will use them: the image's Dockerfile and
the docker-compose file (parsed; validated by `docker-compose config -q` when installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_image_is_multi_stage_slim_non_root_and_installs_from_the_lock() -> None:
    steps = dockerfile()
    bases = [args for kind, args in steps if kind == "FROM"]
    runs = " ".join(args for kind, args in steps if kind == "RUN")
    users = [args for kind, args in steps if kind == "USER"]

    assert len(bases) >= 2 and all("slim" in base for base in bases)
    assert "-c requirements/constraints.txt" in runs
    assert users and users[-1] not in ("root", "0")
    assert "useradd" in runs and "/app/var" in runs and "chown" in runs


def test_the_image_logs_json_checks_liveness_and_runs_one_uvicorn_process() -> None:
    steps = dict((kind, args) for kind, args in dockerfile() if kind in ("HEALTHCHECK", "CMD"))
    env = " ".join(args for kind, args in dockerfile() if kind == "ENV")

    assert "LOG_FORMAT=json" in env
    assert "/health/live" in steps["HEALTHCHECK"]
    assert json.loads(steps["CMD"]) == [
        "uvicorn",
        "app.main:app",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--workers",
        "1",
        "--no-proxy-headers",  # X-Forwarded-* only from FORWARDED_ALLOW_IPS (app.api.edge)
    ]


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".git", ".venv", "var", ".env"} <= ignored


def test_compose_runs_the_app_a_replica_on_a_profile_mongodb_and_redis() -> None:
    services = compose()["services"]
    app, replica = services["app"], services["app-replica"]

    assert set(services) == {"app", "app-replica", "mongodb", "redis"}
    assert "profiles" not in app and replica["profiles"] == ["replica"]
    assert app["environment"]["INSTANCE_ID"] != replica["environment"]["INSTANCE_ID"]
    assert app["ports"] == ["8000:8000"] and replica["ports"] == ["8001:8000"]
    for instance in (app, replica):
        assert instance["env_file"] == ".env"
        assert instance["depends_on"] == {
            "mongodb": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        assert instance["environment"]["MONGODB_URL"] == "mongodb://mongodb:27017"
        assert instance["environment"]["REDIS_URL"].startswith("redis://redis:6379")


def test_compose_keeps_mongodb_and_redis_data_and_checks_their_health() -> None:
    document = compose()
    mongodb, redis = document["services"]["mongodb"], document["services"]["redis"]

    assert mongodb["image"].startswith("mongo:") and redis["image"].startswith("redis:")
    assert any(v.endswith(":/data/db") for v in mongodb["volumes"])
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert {"mongodb-data", "redis-data"} <= set(document["volumes"])
    assert "ping" in " ".join(mongodb["healthcheck"]["test"])
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_every_setting_compose_sets_is_a_setting_of_the_app() -> None:
    known = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for name in ("app", "app-replica"):
        assert set(compose()["services"][name]["environment"]) <= known


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (Debian package docker-compose)",
)
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    for name in ("docker-compose.yml", ".env.example"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")

    done = subprocess.run(
        ["docker-compose", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
