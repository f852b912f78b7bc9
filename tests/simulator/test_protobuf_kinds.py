"""The built-in kinds kubectl writes in protobuf beyond the core six: ServiceAccount, the four
RBAC kinds (`kubectl create serviceaccount|role|rolebinding|clusterrole|clusterrolebinding`,
then enforced for that ServiceAccount's token), PersistentVolumeClaim and StatefulSet."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import protowire
from simulator.server import Simulator, run_simulator
from tests.simulator.kubectl_runner import Kubectl, Result, run_kubectl
from tests.support import eventually

needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed (Debian package kubernetes-client)",
)
PROTOBUF = protowire.MEDIA_TYPE
ASK_PROTOBUF = {"Accept": f"{PROTOBUF},application/json"}
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    """`kubectl(*args, user="admin")`; `user` names a kubeconfig file in `tmp_path`."""
    async with run_simulator(simulator=Simulator(), tls_dir=tmp_path / "tls") as served:
        (tmp_path / "admin").write_text(json.dumps(served.kubeconfig()))

        async def run(*args: str, user: str = "admin", stdin: str | None = None) -> Result:
            cache = tmp_path / "cache" / user
            result = await run_kubectl(tmp_path / user, cache, *args, stdin=stdin)
            return Result(result.code, result.out.strip(), result.err)

        yield run


async def _create_all(kubectl: Kubectl) -> list[Result]:
    return [
        await kubectl("create", "serviceaccount", "app"),
        await kubectl("create", "role", "r", "--verb=get", "--resource=secrets"),
        await kubectl("create", "rolebinding", "rb", "--role=r", "--serviceaccount=default:app"),
        await kubectl("create", "clusterrole", "cr", "--verb=list", "--resource=pods"),
        await kubectl(
            "create",
            "clusterrolebinding",
            "crb",
            "--clusterrole=cr",
            "--serviceaccount=default:app",
        ),
    ]


async def _get(kubectl: Kubectl, *args: str) -> Any:
    got = await kubectl("get", *args, "-o", "json")
    assert got.code == 0, got.err
    return json.loads(got.out)


@needs_kubectl
async def test_kubectl_creates_a_service_account_roles_and_bindings_in_protobuf(
    kubectl: Kubectl,
) -> None:
    created = await _create_all(kubectl)
    logged = await kubectl("create", "serviceaccount", "other", "-v=8")
    account = await _get(kubectl, "serviceaccount", "app")
    role = await _get(kubectl, "role", "r")
    binding = await _get(kubectl, "rolebinding", "rb")
    cluster_role = await _get(kubectl, "clusterrole", "cr")
    cluster_binding = await _get(kubectl, "clusterrolebinding", "crb")

    assert [(c.code, c.out) for c in created] == [
        (0, "serviceaccount/app created"),
        (0, f"role.{RBAC}/r created"),
        (0, f"rolebinding.{RBAC}/rb created"),
        (0, f"clusterrole.{RBAC}/cr created"),
        (0, f"clusterrolebinding.{RBAC}/crb created"),
    ], [c.err for c in created]
    assert f"Content-Type: {PROTOBUF}" in logged.err  # sent and answered in protobuf
    assert logged.err.count(f"Content-Type: {PROTOBUF}") == 2
    assert (account["kind"], account["metadata"]["namespace"]) == ("ServiceAccount", "default")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    assert binding["roleRef"] == {"apiGroup": RBAC, "kind": "Role", "name": "r"}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "app", "namespace": "default"}
    ]
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    assert "namespace" not in cluster_role["metadata"]
    assert cluster_binding["roleRef"] == {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cr"}
    assert cluster_binding["subjects"] == binding["subjects"]


TOKEN_SECRET = """
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: app-token
  annotations: {kubernetes.io/service-account.name: app}
"""


@needs_kubectl
async def test_the_service_accounts_token_may_do_what_its_kubectl_made_bindings_say(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    await _create_all(kubectl)
    applied = await kubectl("apply", "-f", "-", stdin=TOKEN_SECRET)
    assert applied.code == 0, applied.err

    async def token() -> str:
        data = (await _get(kubectl, "secret", "app-token")).get("data") or {}
        return base64.b64decode(data["token"]).decode() if "token" in data else ""

    app = json.loads((tmp_path / "admin").read_text())
    app["users"][0]["user"] = {"token": await eventually(token, timeout=10)}
    (tmp_path / "app").write_text(json.dumps(app))

    async def can_i(*args: str) -> tuple[int, str]:
        answer = await kubectl("auth", "can-i", *args, user="app")
        return answer.code, answer.out

    secrets_here = await can_i("get", "secrets", "-n", "default")
    secrets_elsewhere = await can_i("get", "secrets", "-n", "kube-system")
    no_delete = await can_i("delete", "secrets", "-n", "default")
    pods_anywhere = await can_i("list", "pods", "-n", "kube-system")
    read = await kubectl("get", "secret", "app-token", "-o", "name", user="app")
    unbound = await kubectl("delete", "rolebinding", "rb")
    secrets_unbound = await can_i("get", "secrets", "-n", "default")
    refused = await kubectl("get", "secret", "app-token", user="app")

    assert secrets_here == (0, "yes")
    assert secrets_elsewhere == (1, "no")
    assert no_delete == (1, "no")
    assert pods_anywhere == (0, "yes")
    assert read.out == "secret/app-token", read.err
    assert unbound.code == 0, unbound.err
    assert secrets_unbound == (1, "no")
    assert refused.err.startswith("Error from server (Forbidden)")
    assert 'User "system:serviceaccount:default:app" cannot get resource "secrets"' in refused.err


PVC = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data-pg-0", "labels": {"app": "pg"}},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
        "storageClassName": "standard",
        "volumeMode": "Filesystem",
    },
}
STATEFULSET = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "pg"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "pg"}},
        "serviceName": "pg-pods",
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "template": {
            "metadata": {"labels": {"app": "pg"}},
            "spec": {
                "containers": [
                    {
                        "name": "postgres",
                        "image": "postgres:16.4",
                        "ports": [{"name": "db", "containerPort": 5432}],
                        "volumeMounts": [{"name": "data", "mountPath": "/var/pv"}],
                        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                    }
                ]
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    },
}


def test_a_statefulset_and_a_pvc_survive_protobuf_encoding() -> None:
    pvc = {**PVC, "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}}
    sts = {**STATEFULSET, "status": {"replicas": 0, "availableReplicas": 0}}

    assert protowire.decode(protowire.encode(pvc), api_version="", kind="") == pvc
    assert protowire.decode(protowire.encode(sts), api_version="", kind="") == sts


async def test_a_protobuf_statefulset_and_pvc_are_stored_and_listed_in_protobuf(
    http: httpx.AsyncClient,
) -> None:
    sent = {"Content-Type": PROTOBUF, **ASK_PROTOBUF}
    sts_path = "/apis/apps/v1/namespaces/default/statefulsets"
    pvc_path = "/api/v1/namespaces/default/persistentvolumeclaims"

    sts = await http.post(sts_path, content=protowire.encode(STATEFULSET), headers=sent)
    pvc = await http.post(pvc_path, content=protowire.encode(PVC), headers=sent)
    stored = await http.get(f"{sts_path}/pg")
    listed = await http.get(pvc_path, headers=ASK_PROTOBUF)

    assert (sts.status_code, pvc.status_code) == (201, 201), (sts.text, pvc.text)
    assert sts.headers["content-type"] == pvc.headers["content-type"] == PROTOBUF
    answered = protowire.decode(sts.content, api_version="", kind="")
    assert answered["spec"] == STATEFULSET["spec"]
    assert stored.json()["spec"] == STATEFULSET["spec"]
    assert listed.headers["content-type"] == PROTOBUF
    items = protowire.decode(listed.content, api_version="", kind="")["items"]
    assert [(i["metadata"]["name"], i["spec"]) for i in items] == [("data-pg-0", PVC["spec"])]


@needs_kubectl
async def test_kubectl_describes_a_statefulset_and_a_pvc_read_in_protobuf(
    kubectl: Kubectl,
) -> None:
    for body in (PVC, STATEFULSET):
        created = await kubectl("create", "-f", "-", stdin=json.dumps(body))
        assert created.code == 0, created.err

    sts = await kubectl("describe", "statefulset", "pg")
    pvc = await kubectl("describe", "pvc", "data-pg-0")

    assert sts.code == 0, sts.err
    assert "Replicas:           3 desired" in sts.out
    assert "Image:      postgres:16.4" in sts.out
    assert "/var/pv from data (rw)" in sts.out
    assert pvc.code == 0, pvc.err
    assert "StorageClass:  standard" in pvc.out
