"""Authentication and RBAC over HTTP: bearer tokens, ServiceAccount token Secrets, Roles and
bindings enforced with kube-apiserver's answers, and the self reviews kubectl uses."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import requestinfo
from simulator.kubeconfig import CONTEXT
from simulator.server import Served, run_simulator
from tests.simulator.kube import MERGE, mongodb, mongodbs, secret, secrets
from tests.support import eventually

RBAC = "/apis/rbac.authorization.k8s.io/v1"


async def service_account(http: httpx.AsyncClient, name: str, ns: str = "default") -> str:
    """Create a ServiceAccount and its token Secret; the token once the controller filled it."""
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    assert (await http.post(f"/api/v1/namespaces/{ns}/serviceaccounts", json=sa)).is_success
    token_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": f"{name}-token",
            "annotations": {"kubernetes.io/service-account.name": name},
        },
    }
    assert (await http.post(secrets(ns), json=token_secret)).status_code == 201

    async def filled() -> str | None:
        data = (await http.get(f"{secrets(ns)}/{name}-token")).json().get("data") or {}
        return base64.b64decode(data["token"]).decode() if "token" in data else None

    return await eventually(filled, timeout=5)


async def grant(http: httpx.AsyncClient, name: str, rules: list[dict[str, Any]], sa: str) -> None:
    """A Role in `default` with `rules`, bound to the ServiceAccount `sa`."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding"}
    created = await http.post(
        f"{RBAC}/namespaces/default/roles",
        json={**role, "metadata": {"name": name}, "rules": rules},
    )
    bound = await http.post(
        f"{RBAC}/namespaces/default/rolebindings",
        json={
            **binding,
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": sa}],
        },
    )
    assert created.status_code == bound.status_code == 201, (created.text, bound.text)


def as_token(sim: Served, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=sim.url, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


async def test_no_token_or_an_unknown_one_is_401_except_on_the_public_paths(
    sim: Served,
) -> None:
    async with httpx.AsyncClient(base_url=sim.url, timeout=5) as anonymous:
        listing = await anonymous.get(mongodbs())
        admin_api = await anonymous.get("/_sim/config")
        healthz, version = await anonymous.get("/healthz"), await anonymous.get("/version")
        anonymous.headers["Authorization"] = "Bearer not-a-token"
        forged = await anonymous.get("/version")

    assert listing.status_code == admin_api.status_code == forged.status_code == 401
    assert listing.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert healthz.status_code == version.status_code == 200


async def test_a_service_account_token_is_the_service_account_and_may_only_discover(
    sim: Served, http: httpx.AsyncClient
) -> None:
    token = await service_account(http, "reader")
    async with as_token(sim, token) as reader:
        whoami = await reader.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        discovery = await reader.get("/apis")
        secret_read = await reader.get(f"{secrets()}/x")
        namespaces = await reader.get("/api/v1/namespaces")
        admin_api = await reader.get("/_sim/config")

    user = whoami.json()["status"]["userInfo"]
    assert user["username"] == "system:serviceaccount:default:reader"
    assert user["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ]
    assert discovery.status_code == 200
    assert secret_read.status_code == 403
    assert secret_read.json()["message"] == (
        'secrets "x" is forbidden: User "system:serviceaccount:default:reader" cannot get '
        'resource "secrets" in API group "" in the namespace "default"'
    )
    assert secret_read.json()["details"] == {"name": "x", "kind": "secrets"}
    assert namespaces.json()["message"] == (
        'namespaces is forbidden: User "system:serviceaccount:default:reader" cannot list '
        'resource "namespaces" in API group "" at the cluster scope'
    )
    assert admin_api.json()["message"] == (
        'forbidden: User "system:serviceaccount:default:reader" cannot get path "/_sim/config"'
    )
    assert sim.simulator.access.denied["403 system:serviceaccount:default:reader get secrets"] == 1


async def test_rules_grant_verbs_resource_names_subresources_and_wildcards(
    sim: Served, http: httpx.AsyncClient
) -> None:
    token = await service_account(http, "worker")
    await grant(
        http,
        "worker",
        [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["a"]},
            {"apiGroups": ["*"], "resources": ["mongodbs"], "verbs": ["create", "list"]},
            {"apiGroups": ["kubedb.com"], "resources": ["*/status"], "verbs": ["patch"]},
        ],
        "worker",
    )
    for name in ("a", "b"):
        assert (await http.post(secrets(), json=secret(name))).status_code == 201
    async with as_token(sim, token) as worker:
        named = await worker.get(f"{secrets()}/a")
        other = await worker.get(f"{secrets()}/b")
        all_secrets = await worker.get(secrets())
        created = await worker.post(mongodbs(), json=mongodb("db1"))
        listed = await worker.get(mongodbs())
        status = await worker.patch(
            f"{mongodbs()}/db1/status", headers=MERGE, json={"status": {"phase": "Ready"}}
        )
        spec = await worker.patch(f"{mongodbs()}/db1", headers=MERGE, json={"spec": {}})
        elsewhere = await worker.get(mongodbs("kube-public"))

    assert [r.status_code for r in (named, created, listed, status)] == [200, 201, 200, 200]
    assert [r.status_code for r in (other, all_secrets, spec, elsewhere)] == [403] * 4
    assert spec.json()["message"].startswith(
        'mongodbs.kubedb.com "db1" is forbidden: User "system:serviceaccount:default:worker" '
        'cannot patch resource "mongodbs" in API group "kubedb.com" in the namespace "default"'
    )


async def test_a_binding_to_a_missing_role_says_so_and_grants_nothing(
    sim: Served, http: httpx.AsyncClient
) -> None:
    token = await service_account(http, "orphan")
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "orphan"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "gone"},
        "subjects": [{"kind": "ServiceAccount", "name": "orphan", "namespace": "default"}],
    }
    assert (await http.post(f"{RBAC}/clusterrolebindings", json=binding)).status_code == 201
    async with as_token(sim, token) as orphan:
        denied = await orphan.get(secrets())

    assert denied.status_code == 403
    assert denied.json()["message"].endswith(
        ': RBAC: clusterroles.rbac.authorization.k8s.io "gone" not found'
    )


async def test_a_token_dies_with_its_service_account_and_a_token_secret_without_one_goes(
    sim: Served, http: httpx.AsyncClient
) -> None:
    token = await service_account(http, "short-lived")
    await http.delete("/api/v1/namespaces/default/serviceaccounts/short-lived")
    stray = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "stray", "annotations": {"kubernetes.io/service-account.name": "no"}},
    }
    await http.post(secrets(), json=stray)

    async with as_token(sim, token) as client:
        after = await client.get("/apis")

    async def stray_gone() -> bool:
        return (await http.get(f"{secrets()}/stray")).status_code == 404

    assert after.status_code == 401
    await eventually(stray_gone, timeout=5)


async def test_access_reviews_answer_for_the_caller(sim: Served, http: httpx.AsyncClient) -> None:
    token = await service_account(http, "asker")
    await grant(
        http, "asker", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}], "asker"
    )

    def review(verb: str, resource: str) -> dict[str, Any]:
        attributes = {"namespace": "default", "verb": verb, "group": "", "resource": resource}
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }

    async with as_token(sim, token) as asker:
        path = "/apis/authorization.k8s.io/v1"
        pods = await asker.post(f"{path}/selfsubjectaccessreviews", json=review("delete", "pods"))
        nodes = await asker.post(f"{path}/selfsubjectaccessreviews", json=review("get", "nodes"))
        empty = await asker.post(
            f"{path}/selfsubjectaccessreviews",
            json={"kind": "SelfSubjectAccessReview", "spec": {}},
        )
        rules = await asker.post(
            f"{path}/selfsubjectrulesreviews",
            json={"kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}},
        )

    assert pods.status_code == 201 and pods.json()["status"]["allowed"] is True
    assert pods.json()["status"]["reason"] == (
        'RBAC: allowed by RoleBinding "asker/default" of Role "asker" to '
        'ServiceAccount "asker/default"'
    )
    assert nodes.json()["status"] == {"allowed": False}
    assert empty.status_code == 422
    resource_rules = rules.json()["status"]["resourceRules"]
    assert {"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]} in resource_rules


def test_request_attributes_follow_the_api_servers_url_rules() -> None:
    parse = requestinfo.parse
    assert parse("GET", "/apis/kubedb.com/v1") == requestinfo.Attributes(
        verb="get", resource_request=False, path="/apis/kubedb.com/v1"
    )
    named = parse("GET", "/api/v1/namespaces/ns/secrets", "fieldSelector=metadata.name%3Dx")
    assert (named.verb, named.name) == ("list", "x")
    watch = parse("GET", "/apis/kubedb.com/v1/mongodbs", "watch=1")
    assert (watch.verb, watch.namespace, watch.api_group) == ("watch", "", "kubedb.com")
    own = parse("PUT", "/api/v1/namespaces/ns/finalize")
    assert (own.verb, own.resource, own.name, own.subresource) == (
        "update",
        "namespaces",
        "ns",
        "finalize",
    )
    assert parse("DELETE", "/api/v1/namespaces/ns/secrets").verb == "deletecollection"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_authenticates_over_https_as_the_admin_or_a_service_account(
    tmp_path: Path,
) -> None:
    """kubectl sends a token only over HTTPS. (`kubectl auth can-i` and `whoami`:
    test_kubectl_auth.)"""
    async with run_simulator("127.0.0.1", 0, tls_dir=tmp_path / "tls") as served:
        assert served.url.startswith("https://")
        (tmp_path / "admin").write_text(json.dumps(served.kubeconfig()))
        async with httpx.AsyncClient(
            base_url=served.url, headers=served.admin_headers, verify=False, timeout=5
        ) as http:
            token = await service_account(http, "robot")
        robot = served.kubeconfig()
        robot["users"][0]["user"] = {"token": token}
        (tmp_path / "robot").write_text(json.dumps(robot))

        async def kubectl(config: str, *args: str) -> tuple[int, str]:
            process = await asyncio.create_subprocess_exec(
                "kubectl",
                f"--kubeconfig={tmp_path / config}",
                f"--context={CONTEXT}",
                f"--cache-dir={tmp_path / 'cache'}",
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), timeout=20)
            return process.returncode or 0, (out + err).decode()

        roles = await kubectl("admin", "get", "clusterroles", "-o", "name")
        denied = await kubectl("robot", "get", "secrets")

    assert roles[0] == 0 and "clusterrole.rbac.authorization.k8s.io/cluster-admin" in roles[1]
    assert denied[0] == 1
    assert (
        'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:'
        'default:robot" cannot list resource "secrets" in API group "" in the namespace "default"'
    ) in denied[1]
