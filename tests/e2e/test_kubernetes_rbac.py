"""The ClusterRole in `k8s/app/rbac.yaml` grants exactly what the app calls: every lifecycle
route of every engine, a drift-repair pass, a status-sync pass and the health check run
against the simulator, which counts each request by verb and resource
(`tests/e2e/cluster_usage.py`). A call the role does not grant would be a 403 in a real
cluster; a grant nothing calls is more power than the app needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from app.config.settings import Settings
from tests.e2e import cluster_usage
from tests.e2e.platform import Platform, running

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def platform_with_repairs(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path, reconcile_interval=1) as started:
        yield started


def granted() -> set[tuple[str, str, str]]:
    """(group, resource, verb) for every grant of the ClusterRole."""
    documents = yaml.safe_load_all((ROOT / "k8s" / "app" / "rbac.yaml").read_text())
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.timeout(120)
async def test_the_cluster_role_grants_exactly_the_calls_the_app_makes(
    platform_with_repairs: Platform,
) -> None:
    _, _, served = platform_with_repairs
    registry = served.simulator.registry
    group_of = {rt.plural: rt.group for rt in registry}

    called = await cluster_usage.record(platform_with_repairs)
    needed = {(group_of[resource.split("/")[0]], resource, verb) for verb, resource in called}

    assert needed, "the app made no cluster call"
    assert not needed - granted(), "calls the role does not grant"
    assert not granted() - needed, "grants nothing calls"
