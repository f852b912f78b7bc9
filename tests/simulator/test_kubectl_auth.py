"""kubectl's authentication commands against the simulator (`kubectl auth can-i [--list]`,
`kubectl auth whoami`, which post their self reviews in protobuf) as cluster-admin and as a
ServiceAccount (its token in a kubeconfig: `--as` impersonation is not served); the review
kinds in discovery; and admission hooks seeing who writes."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from simulator import protowire
from simulator.extensions import AdmissionRequest, Simulator
from simulator.kubeconfig import CONTEXT
from simulator.server import Served, run_simulator
from tests.simulator.test_rbac import RBAC, as_token, service_account

needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed (Debian package kubernetes-client)",
)
AUTHZ = "/apis/authorization.k8s.io/v1"
ROBOT = "system:serviceaccount:team-a:robot"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Kubectl = Callable[..., Awaitable[Result]]


async def grant_in_team_a(http: httpx.AsyncClient, verbs: list[str], resource: str) -> None:
    """A Role in `team-a` granting `verbs` on `resource` (kubedb.com), bound to `robot`."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "robot"},
        "rules": [{"apiGroups": ["kubedb.com"], "resources": [resource], "verbs": verbs}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "robot"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "robot"},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "team-a"}],
    }
    for plural, body in (("roles", role), ("rolebindings", binding)):
        created = await http.post(f"{RBAC}/namespaces/team-a/{plural}", json=body)
        assert created.status_code == 201, created.text


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    """`kubectl(user, *args)` with `user` "admin" or "robot" (ServiceAccount `team-a/robot`,
    which may create, get and list postgreses in `team-a`)."""
    async with (
        run_simulator(simulator=Simulator(), tls_dir=tmp_path / "tls") as served,
        httpx.AsyncClient(
            base_url=served.url, headers=served.admin_headers, verify=False, timeout=5
        ) as http,
    ):
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
        assert (await http.post("/api/v1/namespaces", json=namespace)).status_code == 201
        token = await service_account(http, "robot", "team-a")
        await grant_in_team_a(http, ["create", "get", "list"], "postgreses")
        (tmp_path / "admin").write_text(json.dumps(served.kubeconfig()))
        robot = served.kubeconfig()
        robot["users"][0]["user"] = {"token": token}
        (tmp_path / "robot").write_text(json.dumps(robot))

        async def run(user: str, *args: str) -> Result:
            process = await asyncio.create_subprocess_exec(
                "kubectl",
                f"--kubeconfig={tmp_path / user}",
                f"--context={CONTEXT}",
                f"--cache-dir={tmp_path / 'cache' / user}",
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
            return Result(process.returncode or 0, out.decode().strip(), err.decode())

        yield run


@needs_kubectl
async def test_kubectl_auth_can_i_answers_yes_or_no_with_its_exit_code(kubectl: Kubectl) -> None:
    admin = await kubectl("admin", "auth", "can-i", "create", "postgres", "-n", "team-a")
    robot = await kubectl("robot", "auth", "can-i", "create", "postgres", "-n", "team-a")
    no_delete = await kubectl("robot", "auth", "can-i", "delete", "postgres", "-n", "team-a")
    elsewhere = await kubectl("robot", "auth", "can-i", "create", "postgres", "-n", "default")
    health = await kubectl("robot", "auth", "can-i", "get", "/healthz")

    assert (admin.code, admin.out) == (0, "yes"), admin.err
    assert (robot.code, robot.out) == (0, "yes"), robot.err
    assert (no_delete.code, no_delete.out) == (1, "no"), no_delete.err
    assert (elsewhere.code, elsewhere.out) == (1, "no"), elsewhere.err
    assert (health.code, health.out) == (0, "yes"), health.err


@needs_kubectl
async def test_kubectl_auth_can_i_list_shows_the_service_accounts_rules_in_the_namespace(
    kubectl: Kubectl,
) -> None:
    listed = await kubectl("robot", "auth", "can-i", "--list", "-n", "team-a")
    default = await kubectl("robot", "auth", "can-i", "--list", "-n", "default")

    assert listed.code == 0, listed.err
    rows = [line.split() for line in listed.out.splitlines()]
    assert ["postgreses.kubedb.com", "[]", "[]", "[create", "get", "list]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert "postgreses.kubedb.com" not in default.out


@needs_kubectl
async def test_kubectl_auth_whoami_prints_the_admin_or_the_service_account(
    kubectl: Kubectl,
) -> None:
    admin = await kubectl("admin", "auth", "whoami")
    robot = await kubectl("robot", "auth", "whoami", "-o", "json")

    assert admin.code == 0, admin.err
    assert admin.out.splitlines()[1].split() == ["Username", "kubernetes-admin"]
    assert robot.code == 0, robot.err
    info = json.loads(robot.out)["status"]["userInfo"]
    assert info["username"] == ROBOT
    assert info["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:team-a",
        "system:authenticated",
    ]


@needs_kubectl
async def test_kubectl_api_resources_lists_the_reviews_as_create_only(kubectl: Kubectl) -> None:
    listed = await kubectl("robot", "api-resources", "--verbs=create", "-o", "name")
    gettable = await kubectl("robot", "api-resources", "--verbs=get", "-o", "name")

    assert listed.code == 0, listed.err
    reviews = {
        "selfsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectrulesreviews.authorization.k8s.io",
        "selfsubjectreviews.authentication.k8s.io",
    }
    assert reviews <= set(listed.out.splitlines())
    assert not reviews & set(gettable.out.splitlines())


async def test_a_protobuf_review_is_answered_in_protobuf_or_json_as_the_client_asks(
    sim: Served, http: httpx.AsyncClient
) -> None:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "create", "group": "kubedb.com", "resource": "x"}},
    }
    sent = {"Content-Type": protowire.MEDIA_TYPE}
    body = protowire.encode(review)

    as_protobuf = await http.post(
        f"{AUTHZ}/selfsubjectaccessreviews",
        content=body,
        headers={**sent, "Accept": f"{protowire.MEDIA_TYPE}, application/json"},
    )
    as_json = await http.post(
        f"{AUTHZ}/selfsubjectaccessreviews",
        content=body,
        headers={**sent, "Accept": "application/json"},
    )
    whoami = await http.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        content=protowire.encode(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        ),
        headers={**sent, "Accept": protowire.MEDIA_TYPE},
    )

    assert as_protobuf.status_code == 201, as_protobuf.text
    assert as_protobuf.headers["content-type"] == protowire.MEDIA_TYPE
    answer = protowire.decode(as_protobuf.content, api_version="", kind="")
    assert answer["kind"] == "SelfSubjectAccessReview"
    assert answer["spec"] == review["spec"]
    assert answer["status"] == {"allowed": True}
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["status"] == {"allowed": True}
    user = protowire.decode(whoami.content, api_version="", kind="")["status"]["userInfo"]
    assert user == {
        "username": "kubernetes-admin",
        "groups": ["system:masters", "system:authenticated"],
    }


async def test_discovery_lists_the_review_kinds_and_other_methods_are_405(
    http: httpx.AsyncClient,
) -> None:
    groups = (await http.get("/apis")).json()["groups"]
    authorization = (await http.get(AUTHZ)).json()["resources"]
    authentication = (await http.get("/apis/authentication.k8s.io")).json()
    listed = await http.get(f"{AUTHZ}/selfsubjectaccessreviews")

    assert {"authorization.k8s.io", "authentication.k8s.io"} <= {g["name"] for g in groups}
    assert {(r["name"], tuple(r["verbs"]), r["namespaced"]) for r in authorization} == {
        ("selfsubjectaccessreviews", ("create",), False),
        ("selfsubjectrulesreviews", ("create",), False),
    }
    assert authentication["preferredVersion"]["groupVersion"] == "authentication.k8s.io/v1"
    assert listed.status_code == 405 and listed.json()["reason"] == "MethodNotAllowed"


class WhoWrites:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, tuple[str, ...]]] = []

    async def admit(self, request: AdmissionRequest) -> None:
        self.seen.append((request.name, request.user, request.groups))


async def test_admission_hooks_see_the_authenticated_user_and_groups_of_a_request() -> None:
    hook = WhoWrites()

    def plugin(sim: Simulator) -> None:
        sim.add_admission_hook(hook, kind="ConfigMap")

    async with (
        run_simulator(plugins=[plugin]) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=5) as http,
    ):
        token = await service_account(http, "writer")
        grant = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}
        await http.post(
            f"{RBAC}/namespaces/default/roles",
            json={**role, "metadata": {"name": "writer"}, "rules": [grant]},
        )
        await http.post(
            f"{RBAC}/namespaces/default/rolebindings",
            json={
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "writer"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "writer",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "writer"}],
            },
        )
        path = "/api/v1/namespaces/default/configmaps"

        def configmap(name: str) -> dict[str, object]:
            return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}

        by_admin = await http.post(path, json=configmap("by-admin"))
        async with as_token(served, token) as writer:
            by_writer = await writer.post(path, json=configmap("by-writer"))
        await served.client(user="tester").create(configmap("in-process"))

    assert by_admin.status_code == by_writer.status_code == 201, by_writer.text
    assert hook.seen == [
        ("by-admin", "kubernetes-admin", ("system:masters", "system:authenticated")),
        (
            "by-writer",
            "system:serviceaccount:default:writer",
            ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"),
        ),
        ("in-process", "tester", ()),
    ]
