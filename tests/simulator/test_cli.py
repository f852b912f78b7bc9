"""`python -m simulator` as a user runs it: a real process on a free port."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


async def test_the_cli_serves_on_a_free_port_prints_the_url_and_writes_a_kubeconfig(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "kubeconfig.json"
    objects = tmp_path / "objects.yaml"
    objects.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: seeded}\n---\n"
        + json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": "s", "namespace": "seeded"},
                    }
                ],
            }
        )
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--kubeconfig-out",
        str(kubeconfig),
        "--objects",
        str(objects),
        "--latency-ms",
        "1",
        "--set",
        "watch_drop_mode=close",
        "--no-default-plugins",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        url = line.decode().strip().removeprefix("simulator listening on ")
        written = await asyncio.wait_for(process.stdout.readline(), timeout=5)
        token = json.loads(kubeconfig.read_text())["users"][0]["user"]["token"]
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            version = await http.get("/version")
            anonymous = await http.get("/api/v1/namespaces/seeded/secrets/s")
            http.headers["Authorization"] = f"Bearer {token}"
            seeded = await http.get("/api/v1/namespaces/seeded/secrets/s")
            config = (await http.get("/_sim/config")).json()
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), timeout=20)

    assert line.decode().startswith("simulator listening on http://127.0.0.1:")
    assert written.decode().strip() == f"kubeconfig written to {kubeconfig}"
    assert version.status_code == 200 and seeded.status_code == 200
    assert anonymous.status_code == 401
    assert config["latency_ms"] == 1.0 and config["watch_drop_mode"] == "close"
    written_config = json.loads(kubeconfig.read_text())
    assert written_config["current-context"] == "kubedb-simulator"
    assert written_config["clusters"][0]["cluster"]["server"] == url
    assert process.returncode == 0, err.decode()


async def test_the_cli_refuses_an_unknown_knob(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--set",
        "nope=1",
        "--no-default-plugins",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)

    assert process.returncode != 0
    assert "unknown knob 'nope'" in err.decode()
