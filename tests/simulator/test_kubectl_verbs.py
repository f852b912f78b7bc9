"""kubectl 1.32 against the simulator: the imperative commands (which send protobuf), the
verbs a platform engineer uses on built-in kinds, and the real server's refusals (status
code and reason, as kubectl prints them: `Error from server (Conflict): ...`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulator.server import Simulator, run_simulator
from tests.simulator.kubectl_runner import Kubectl, Result, run_kubectl

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed (Debian package kubernetes-client)",
)


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with run_simulator(simulator=Simulator(), tls_dir=tmp_path / "tls") as served:
        config = tmp_path / "kubeconfig"
        config.write_text(json.dumps(served.kubeconfig()))

        async def run(*args: str, stdin: str | None = None, ok: bool = True) -> Result:
            result = await run_kubectl(config, tmp_path / "cache", *args, stdin=stdin)
            if ok:
                assert result.code == 0, f"kubectl {' '.join(args)}: {result.err}"
            return result

        yield run


SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: team-a}
spec:
  selector: {app: db}
  ports:
  - {name: db, port: 5432, targetPort: 5432}
  - {name: stats, port: 9187}
"""


async def test_imperative_creates_send_protobuf_and_the_objects_read_back(
    kubectl: Kubectl,
) -> None:
    await kubectl("create", "namespace", "team-a")
    await kubectl("create", "secret", "generic", "s1", "-n", "team-a", "--from-literal=a=b")
    await kubectl("create", "configmap", "c1", "-n", "team-a", "--from-literal=k=v")

    namespace = json.loads((await kubectl("get", "namespace", "team-a", "-o", "json")).out)
    secret = json.loads((await kubectl("get", "secret", "s1", "-n", "team-a", "-o", "json")).out)
    configmap = (await kubectl("get", "configmap", "c1", "-n", "team-a", "-o", "yaml")).out
    described = (await kubectl("describe", "secret", "s1", "-n", "team-a")).out
    namespaces = (await kubectl("get", "namespaces", "-o", "name")).out.split()

    assert namespace["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert namespace["status"] == {"phase": "Active"}
    assert secret["data"] == {"a": "Yg=="} and secret["type"] == "Opaque"
    assert "kind: ConfigMap" in configmap and "k: v" in configmap
    assert "a:  1 bytes" in described
    assert set(namespaces) >= {
        "namespace/default",
        "namespace/kube-system",
        "namespace/kube-public",
        "namespace/kube-node-lease",
    }


async def test_label_annotate_replace_and_delete_work_and_a_stale_replace_is_409(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    await kubectl("create", "configmap", "c1", "--from-literal=k=v")
    stale = tmp_path / "c1.yaml"
    stale.write_text((await kubectl("get", "configmap", "c1", "-o", "yaml")).out)
    await kubectl("label", "configmap", "c1", "team=a")
    await kubectl("annotate", "configmap", "c1", "note=hi")

    refused = await kubectl("replace", "-f", str(stale), ok=False)
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(
        (await kubectl("get", "configmap", "c1", "-o", "yaml")).out.replace("k: v", "k: w")
    )
    await kubectl("replace", "-f", str(fresh))
    replaced = json.loads((await kubectl("get", "configmap", "c1", "-o", "json")).out)
    await kubectl("delete", "configmap", "c1")
    gone = await kubectl("get", "configmap", "c1", ok=False)

    assert refused.code == 1
    assert refused.err.startswith("Error from server (Conflict)")
    assert "the object has been modified" in refused.err
    assert replaced["data"] == {"k": "w"}
    assert replaced["metadata"]["labels"] == {"team": "a"}
    assert replaced["metadata"]["annotations"] == {"note": "hi"}
    assert 'Error from server (NotFound): configmaps "c1" not found' in gone.err


async def test_applying_a_service_twice_keeps_its_ports_and_ssa_conflicts_are_409(
    kubectl: Kubectl,
) -> None:
    await kubectl("create", "namespace", "team-a")
    await kubectl("apply", "-f", "-", stdin=SERVICE)
    await kubectl("apply", "-f", "-", stdin=SERVICE.replace("targetPort: 5432", "targetPort: 6432"))
    ports = json.loads(
        (await kubectl("get", "svc", "db", "-n", "team-a", "-o", "jsonpath={.spec.ports}")).out
    )
    await kubectl("apply", "--server-side", "--field-manager=alice", "-f", "-", stdin=SERVICE)
    conflict = await kubectl(
        "apply",
        "--server-side",
        "--field-manager=bob",
        "-f",
        "-",
        stdin=SERVICE.replace("app: db", "app: other"),
        ok=False,
    )
    await kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=bob",
        "-f",
        "-",
        stdin=SERVICE.replace("app: db", "app: other"),
    )
    selector = (
        await kubectl("get", "svc", "db", "-n", "team-a", "-o", "jsonpath={.spec.selector}")
    ).out

    assert [(p["name"], p["port"], p["targetPort"]) for p in ports] == [
        ("db", 5432, 6432),
        ("stats", 9187, 9187),
    ]
    assert conflict.code == 1
    assert 'Apply failed with 1 conflict: conflict with "alice": .spec.selector.app' in conflict.err
    assert json.loads(selector) == {"app": "other"}


async def test_applying_a_list_creates_every_item(kubectl: Kubectl) -> None:
    items = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "l1"},
                "data": {"a": "1"},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "l2"},
                "stringData": {"a": "1"},
            },
        ],
    }

    # Client-side validation of a List reads /openapi/v2, which the simulator serves.
    applied = await kubectl("apply", "-f", "-", stdin=json.dumps(items))
    listed = (await kubectl("get", "configmaps,secrets", "-o", "name")).out.split()

    assert "configmap/l1 created" in applied.out and "secret/l2 created" in applied.out
    assert {"configmap/l1", "secret/l2"} <= set(listed)


async def test_the_real_servers_refusals_reach_kubectl(kubectl: Kubectl, tmp_path: Path) -> None:
    await kubectl("create", "secret", "generic", "s1", "--from-literal=a=b")
    exported = tmp_path / "s1.yaml"
    exported.write_text((await kubectl("get", "secret", "s1", "-o", "yaml")).out)
    await kubectl("delete", "secret", "s1")

    # kubectl clears the resourceVersion of what it creates (a bare POST with one is a 500)
    recreated = await kubectl("create", "-f", str(exported))
    await kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "locked"},
                "immutable": True,
                "stringData": {"a": "1"},
            }
        ),
    )
    locked = await kubectl(
        "patch", "secret", "locked", "-p", '{"stringData": {"a": "2"}}', ok=False
    )
    system = await kubectl("delete", "namespace", "kube-system", ok=False)

    assert recreated.out.strip() == "secret/s1 created"
    assert locked.err.startswith('The Secret "locked" is invalid')
    assert "data: Forbidden: field is immutable when `immutable` is set" in locked.err
    assert system.err.startswith("Error from server (Forbidden)")
    assert "this namespace may not be deleted" in system.err


async def test_describe_lists_the_events_of_a_built_in_object(kubectl: Kubectl) -> None:
    await kubectl("create", "configmap", "c1", "--from-literal=k=v")
    uid = (await kubectl("get", "configmap", "c1", "-o", "jsonpath={.metadata.uid}")).out
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "c1.1"},
        "involvedObject": {"kind": "ConfigMap", "name": "c1", "namespace": "default", "uid": uid},
        "reason": "Checked",
        "message": "looked at it",
        "type": "Normal",
        "count": 1,
    }
    await kubectl("create", "-f", "-", stdin=json.dumps(event))

    described = (await kubectl("describe", "configmap", "c1")).out

    assert "Checked" in described and "looked at it" in described
