"""kubectl itself against the simulator with the KubeDB model: the verbs a platform engineer
uses on every kind the control plane touches."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from simulator.kubeconfig import CONTEXT
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed (Debian package kubernetes-client)",
)

Kubectl = Callable[..., Awaitable[str]]


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with run_simulator(
        simulator=Simulator(plugins=[install]), tls_dir=tmp_path / "tls"
    ) as served:
        served.simulator.config.update({"time_scale": 0.01})
        config = tmp_path / "kubeconfig"
        config.write_text(json.dumps(served.kubeconfig()))

        async def run(*args: str, stdin: str | None = None) -> str:
            process = await asyncio.create_subprocess_exec(
                "kubectl",
                f"--kubeconfig={config}",
                f"--context={CONTEXT}",
                f"--cache-dir={tmp_path / 'cache'}",
                *args,
                stdin=asyncio.subprocess.PIPE if stdin else None,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(
                process.communicate(stdin.encode() if stdin else None), timeout=30
            )
            assert process.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
            return out.decode()

        run.served = served  # type: ignore[attr-defined]
        yield run


POSTGRES = {
    "apiVersion": "kubedb.com/v1",
    "kind": "Postgres",
    "metadata": {"name": "pg1", "namespace": "default", "labels": {"team": "a"}},
    "spec": {
        "version": "16.13",
        "replicas": 1,
        "storage": {"resources": {"requests": {"storage": "1Gi"}}},
    },
}


async def test_kubectl_applies_reads_describes_and_deletes_a_database(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=json.dumps(POSTGRES))
    await kubectl("wait", "pg/pg1", "--for=jsonpath={.status.phase}=Ready", "--timeout=20s")
    as_yaml = await kubectl("get", "pg", "pg1", "-o", "yaml")
    described = await kubectl("describe", "postgres", "pg1")
    await kubectl(
        "patch", "pg", "pg1", "--type", "merge", "-p", '{"spec":{"deletionPolicy":"WipeOut"}}'
    )
    changed = json.loads(await kubectl("get", "pg", "pg1", "-o", "json"))
    await kubectl("delete", "pg", "pg1", "--wait=true", "--timeout=20s")
    left = await kubectl("get", "pg", "-o", "name")

    assert "kind: Postgres" in as_yaml and "phase: Ready" in as_yaml
    assert "Name:" in described and "pg1" in described and "Provisioned" in described
    assert changed["spec"]["deletionPolicy"] == "WipeOut"
    assert left.strip() == ""


async def test_kubectl_reads_every_kind_the_control_plane_touches(kubectl: Kubectl) -> None:
    await kubectl("create", "-f", "-", stdin=json.dumps(POSTGRES))
    await kubectl("wait", "pg/pg1", "--for=jsonpath={.status.phase}=Ready", "--timeout=20s")
    await kubectl(
        "create",
        "-f",
        "-",
        stdin=json.dumps(
            {
                "apiVersion": "ops.kubedb.com/v1alpha1",
                "kind": "PostgresOpsRequest",
                "metadata": {"name": "pg1-restart", "namespace": "default"},
                "spec": {"type": "Restart", "databaseRef": {"name": "pg1"}},
            }
        ),
    )

    versions = await kubectl("get", "postgresversions", "-o", "name")
    ops = await kubectl("get", "pgops", "pg1-restart", "-o", "yaml")
    secret = json.loads(await kubectl("get", "secret", "pg1-auth", "-o", "json"))
    services = await kubectl("get", "services", "-o", "name")
    namespaces = await kubectl("get", "namespaces", "-o", "name")
    described = await kubectl("describe", "pgops", "pg1-restart")

    assert "postgresversion.catalog.kubedb.com/16.13" in versions
    assert "kind: PostgresOpsRequest" in ops
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert "service/pg1-standby" in services
    assert "namespace/default" in namespaces
    assert "Restart" in described


async def test_kubectl_watches_changes_as_they_happen(kubectl: Kubectl, tmp_path: Path) -> None:
    served: Served = kubectl.served  # type: ignore[attr-defined]
    config = tmp_path / "kubeconfig"
    watcher = await asyncio.create_subprocess_exec(
        "kubectl",
        f"--kubeconfig={config}",
        f"--context={CONTEXT}",
        f"--cache-dir={tmp_path / 'cache'}",
        "get",
        "pg",
        "-w",
        "-o",
        "name",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        client = served.client(admission=False)
        await client.create(dict(POSTGRES, metadata={"name": "pg-watched"}))
        assert watcher.stdout is not None
        line = await asyncio.wait_for(watcher.stdout.readline(), timeout=20)
    finally:
        watcher.kill()
        await watcher.wait()

    assert line.decode().strip() == "postgres.kubedb.com/pg-watched"


async def test_kubectl_shows_the_workloads_and_their_events(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=json.dumps(POSTGRES))
    await kubectl("wait", "pg/pg1", "--for=jsonpath={.status.phase}=Ready", "--timeout=20s")

    pods = await kubectl("get", "pods", "-o", "name")
    claims = await kubectl("get", "pvc", "-o", "name")
    petsets = await kubectl("get", "petsets")
    events = await kubectl("get", "events")
    described = await kubectl("describe", "postgres", "pg1")

    assert pods.split() == ["pod/pg1-0"]
    assert claims.split() == ["persistentvolumeclaim/data-pg1-0"]
    assert "pg1" in petsets
    assert "SuccessfulCreate" in events and "create Pod pg1-0 in PetSet pg1 successful" in events
    assert "Events:" in described
    assert "Successfully created PetSet default/pg1" in described


async def test_kubectl_cascade_orphan_leaves_the_pods_without_their_owner(
    kubectl: Kubectl,
) -> None:
    await kubectl("apply", "-f", "-", stdin=json.dumps(POSTGRES))
    await kubectl("wait", "pg/pg1", "--for=jsonpath={.status.phase}=Ready", "--timeout=20s")

    await kubectl("delete", "petset", "pg1", "--cascade=orphan", "--wait=true", "--timeout=20s")
    pod = json.loads(await kubectl("get", "pod", "pg1-0", "-o", "json"))

    assert "ownerReferences" not in pod["metadata"]


async def test_kubectl_cascade_foreground_holds_the_petset_until_its_pods_are_gone(
    kubectl: Kubectl,
) -> None:
    await kubectl("apply", "-f", "-", stdin=json.dumps(POSTGRES))
    await kubectl("wait", "pg/pg1", "--for=jsonpath={.status.phase}=Ready", "--timeout=20s")
    hold = '{"metadata":{"finalizers":["example.com/hold"]}}'
    await kubectl("patch", "pod", "pg1-0", "--type", "merge", "-p", hold)

    await kubectl("delete", "petset", "pg1", "--cascade=foreground", "--wait=false")
    await kubectl(
        "wait",
        "pod/pg1-0",
        "--for=jsonpath={.metadata.deletionGracePeriodSeconds}=0",
        "--timeout=20s",
    )
    held = json.loads(await kubectl("get", "petset", "pg1", "-o", "json"))
    release = '{"metadata":{"finalizers":null}}'
    await kubectl("patch", "pod", "pg1-0", "--type", "merge", "-p", release)

    async def replaced() -> bool:
        # Gone, then made again by the KubeDB model (a new uid), as the operator would.
        uid = await kubectl("get", "petset", "pg1", "-o", "jsonpath={.metadata.uid}")
        return uid != held["metadata"]["uid"]

    assert held["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert held["metadata"]["deletionTimestamp"]
    await eventually(replaced, timeout=20, message="the held PetSet released")
