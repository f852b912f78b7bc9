"""The ClusterRole in `k8s/app/rbac.yaml` grants exactly what the app calls: `k8s/app/`'s
namespace and RBAC are applied to the simulator, which enforces RBAC, and the app runs as
its ServiceAccount (a token Secret's token in its kubeconfig) through every lifecycle route
of every engine, a drift made by hand and put back by the repair pass, a status-sync pass and
the health check. The simulator counts each request by verb and resource
(`tests/e2e/cluster_usage.py`) and every refusal: a call the role does not grant is a 403
that fails the test (least privilege proven, not derived); a grant nothing calls is more
power than the app needs."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.config.settings import Settings
from simulator.server import Served
from tests.e2e import cluster_usage
from tests.e2e.platform import Platform, running
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE, ACCOUNT = "kubedb-dbaas", "kubedb-dbaas"


def _collection(document: dict[str, Any]) -> str:
    group_version, kind = document["apiVersion"], document["kind"]
    plural = {"ServiceAccount": "serviceaccounts", "Namespace": "namespaces"}.get(
        kind, kind.lower() + "s"
    )
    base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    namespace = document["metadata"].get("namespace")
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


async def as_the_apps_service_account(served: Served) -> dict[str, Any]:
    """Apply `k8s/app/namespace.yaml` and `rbac.yaml` as cluster-admin, create the
    ServiceAccount's token Secret; the kubeconfig with its token."""
    documents = [
        document
        for name in ("namespace.yaml", "rbac.yaml")
        for document in yaml.safe_load_all((ROOT / "k8s" / "app" / name).read_text())
    ]
    documents.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": f"{ACCOUNT}-token",
                "namespace": NAMESPACE,
                "annotations": {"kubernetes.io/service-account.name": ACCOUNT},
            },
        }
    )
    async with httpx.AsyncClient(
        base_url=served.url, headers=served.admin_headers, timeout=10
    ) as admin:
        for document in documents:
            response = await admin.post(_collection(document), json=document)
            assert response.status_code == 201, response.text

        async def token() -> str | None:
            path = f"/api/v1/namespaces/{NAMESPACE}/secrets/{ACCOUNT}-token"
            data = (await admin.get(path)).json().get("data") or {}
            return base64.b64decode(data["token"]).decode() if "token" in data else None

        config = served.kubeconfig()
        config["users"][0]["user"] = {"token": await eventually(token, timeout=5)}
    served.simulator.stats.reset()  # count the app's calls only
    return config


@pytest.fixture
async def platform_with_repairs(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    # The shared backup objects are written again on every create, as they are once
    # CLUSTER_RECENT_WRITES_TTL has passed (a POST answered 409, then a PATCH): that PATCH
    # is one of the calls the role must grant, which a run shorter than the TTL would not
    # make.
    async with running(
        settings,
        embedded_redis_url,
        tmp_path,
        identity=as_the_apps_service_account,
        reconcile_interval=1,
        backup_sync_interval=1,
        cluster_recent_writes_ttl=0,
    ) as started:
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
async def test_the_app_runs_its_whole_lifecycle_as_its_service_account_under_enforced_rbac(
    platform_with_repairs: Platform,
) -> None:
    _, _, served = platform_with_repairs
    registry = served.simulator.registry
    group_of = {rt.plural: rt.group for rt in registry}

    called = await cluster_usage.record(platform_with_repairs)
    needed = {(group_of[resource.split("/")[0]], resource, verb) for verb, resource in called}

    assert not served.simulator.access.denied, "requests the cluster refused"
    assert needed, "the app made no cluster call"
    assert not needed - granted(), f"calls the role does not grant: {sorted(needed - granted())}"
    assert not granted() - needed, f"grants nothing calls: {sorted(granted() - needed)}"
