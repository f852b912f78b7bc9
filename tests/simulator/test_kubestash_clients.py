"""kubectl and lightkube (the app's client) against the KubeStash kinds: short names,
`explain` from the schemas, generic resources, and the webhook's 422 as each reports it."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.simulator import kubestash_kit as kit
from tests.simulator.kubectl_runner import Result, run_kubectl

needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed (Debian package kubernetes-client)",
)


class Kubectl:
    def __init__(self, config: Path, cache: Path) -> None:
        self._config, self._cache = config, cache

    async def __call__(self, *args: str, stdin: str | None = None) -> Result:
        return await run_kubectl(self._config, self._cache, *args, stdin=stdin)


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with run_simulator(
        simulator=Simulator(plugins=[install]), tls_dir=tmp_path / "tls"
    ) as served:
        served.simulator.config.update({"time_scale": 0.01})
        config = tmp_path / "kubeconfig"
        config.write_text(json.dumps(served.kubeconfig()))
        yield Kubectl(config, tmp_path / "cache")


@needs_kubectl
async def test_kubectl_reads_the_kubestash_kinds_by_their_short_names(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    for obj in (
        kit.namespace(kit.STORAGE_NS),
        kit.local_storage("local", tmp_path / "backups"),
        kit.policy("db1-retention", maxRetentionPeriod="30d"),
        kit.policy("keep-manual", kit.STORAGE_NS, maxRetentionPeriod="100y"),
        kit.configuration("Postgres", "db1", "local"),
        kit.restore("db1-restore", "Postgres", "db1", "db1-manual"),
    ):
        created = await kubectl("create", "-f", "-", stdin=json.dumps(obj))
        assert created.code == 0, created.err
    bc = await kubectl("get", "bc", "-o", "name")
    assert bc.out.strip() == "backupconfiguration.core.kubestash.com/db1-backup"
    restore = await kubectl(
        "get", "restore", "db1-restore", "-o", "jsonpath={.spec.dataSource.repository}"
    )
    assert restore.out == "db1-manual"
    addons = await kubectl("get", "addons.addons.kubestash.com", "-o", "name")
    assert "addon.addons.kubestash.com/redis-addon" in addons.out.split()
    explain = await kubectl("explain", "retentionpolicies.spec.maxRetentionPeriod")
    assert "m: minutes" in explain.out, explain.err


@needs_kubectl
async def test_kubectl_prints_the_webhook_refusal_naming_the_problem(kubectl: Kubectl) -> None:
    refused = await kubectl("create", "-f", "-", stdin=json.dumps(kit.policy("none")))
    assert refused.code != 0
    assert "at least one of maxRetentionPeriod or successfulSnapshots must be set" in refused.err


async def test_lightkube_creates_a_backup_session_and_reads_the_webhook_refusal() -> None:
    session_kind = create_namespaced_resource(
        "core.kubestash.com", "v1alpha1", "BackupSession", "backupsessions"
    )
    policy_kind = create_namespaced_resource(
        "storage.kubestash.com", "v1alpha1", "RetentionPolicy", "retentionpolicies"
    )
    addon_kind = create_global_resource("addons.kubestash.com", "v1alpha1", "Addon", "addons")
    async with run_simulator(simulator=Simulator(plugins=[install])) as served:
        client = AsyncClient(KubeConfig.from_dict(served.kubeconfig()))
        try:
            created = await client.create(session_kind.from_dict(kit.on_demand("db1", 7)))
            assert created.spec["invoker"]["name"] == "db1-backup"
            addons = [a.metadata.name async for a in client.list(addon_kind)]
            assert "postgres-addon" in addons
            try:
                await client.create(policy_kind.from_dict(kit.policy("none")))
            except ApiError as exc:
                assert exc.status.code == 422
                assert "maxRetentionPeriod" in str(exc.status.message)
            else:
                raise AssertionError("the policy without a rule was accepted")
        finally:
            await client.close()
