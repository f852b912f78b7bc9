"""The Kubernetes manifests in `k8s/app/`, parsed and checked as an operator relies on them:
names and references that resolve, the deployment's settings, probes and stop budget, and
settings the app accepts. The RBAC rules are compared with what the app really calls in
`tests/e2e/test_kubernetes_rbac.py`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.config.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "k8s" / "app"
NAMESPACE = "kubedb-dbaas"
APP_LABELS = {"app.kubernetes.io/name": "kubedb-dbaas"}

Obj = dict[str, Any]


def objects(folder: Path = MANIFESTS) -> dict[tuple[str, str], Obj]:
    """Every object of every manifest in `folder` (not its subfolders, as `kubectl apply -f`
    reads it), by (kind, name)."""
    found: dict[tuple[str, str], Obj] = {}
    for path in sorted(folder.glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            key = (obj["kind"], obj["metadata"]["name"])
            assert key not in found, f"{key} defined twice"
            found[key] = obj
    return found


def deployment() -> Obj:
    return objects()[("Deployment", "kubedb-dbaas")]


def container(obj: Obj) -> Obj:
    containers: list[Obj] = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_values(obj: Obj) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(obj)["env"]}


@pytest.mark.parametrize("version", ["1.28.0", kubernetes_validate.latest_version()])
def test_every_manifest_is_valid_against_the_kubernetes_schema(version: str) -> None:
    """Offline, against the API's published OpenAPI schemas: misspelt or misplaced fields
    (strict), wrong types, missing required fields."""
    checked = [*objects().values(), *objects(MANIFESTS / "templates").values()]

    for obj in checked:
        kubernetes_validate.validate(obj, version, strict=True)
    assert len(checked) >= 15


def test_every_object_is_well_formed_and_in_the_apps_namespace() -> None:
    everything = objects()
    cluster_wide = {"Namespace", "ClusterRole", "ClusterRoleBinding"}

    assert ("Namespace", NAMESPACE) in everything
    for (kind, name), obj in everything.items():
        assert obj["apiVersion"] and obj["metadata"].get("labels"), (kind, name)
        if kind in cluster_wide:
            assert "namespace" not in obj["metadata"], (kind, name)
        else:
            assert obj["metadata"]["namespace"] == NAMESPACE, (kind, name)


def test_the_deployment_runs_two_sized_instances_named_after_their_pods() -> None:
    app = deployment()
    spec, pod = app["spec"], app["spec"]["template"]["spec"]
    env = env_values(app)

    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"] == APP_LABELS
    assert APP_LABELS.items() <= spec["template"]["metadata"]["labels"].items()
    assert (
        env["RECONCILE_INTERVAL"],
        env["NUM_OPERATION_WORKERS"],
        env["STATUS_SYNC_INTERVAL"],
    ) == ("300", "3", "30")
    assert env["INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert container(app)["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }
    assert pod["serviceAccountName"] == "kubedb-dbaas"
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_probes_ask_the_health_routes_on_the_containers_port() -> None:
    app = container(deployment())
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}

    assert app["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert app["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert app[probe]["httpGet"]["port"] in ports
    # The image's command chooses the port (uvicorn --port), not a setting.
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", "")  # continued lines
    command = re.search(r"^CMD (.*)$", dockerfile, re.M)
    assert command is not None
    argv = json.loads(command.group(1))
    assert ports["http"] == int(argv[argv.index("--port") + 1])


def test_the_termination_grace_outlasts_the_pre_stop_pause_and_the_shutdown() -> None:
    app = deployment()
    pre_stop = container(app)["lifecycle"]["preStop"]["exec"]["command"]
    config = objects()[("ConfigMap", "kubedb-dbaas")]["data"]
    grace = app["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]

    assert pre_stop[0] == "sleep"
    # The process exits within 10 s of SIGTERM (SHUTDOWN_GRACE for in-flight steps included:
    # tests/e2e/test_process.py measures it); the pause comes before SIGTERM.
    assert float(config["SHUTDOWN_GRACE"]) < 10
    assert grace > int(pre_stop[1]) + 10


def test_instances_prefer_different_nodes_and_one_always_stays_up() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    anti = pod["affinity"]["podAntiAffinity"]
    preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    budget = objects()[("PodDisruptionBudget", "kubedb-dbaas")]["spec"]

    term = preferred[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == APP_LABELS
    assert budget == {"minAvailable": 1, "selector": {"matchLabels": APP_LABELS}}


def test_the_service_sends_to_the_apps_named_port() -> None:
    service = objects()[("Service", "kubedb-dbaas")]["spec"]
    names = {p["name"] for p in container(deployment())["ports"]}

    assert service["selector"] == APP_LABELS
    assert all(port["targetPort"] in names for port in service["ports"])


def test_the_service_account_is_bound_to_the_cluster_role() -> None:
    everything = objects()
    binding = everything[("ClusterRoleBinding", "kubedb-dbaas")]

    assert ("ServiceAccount", "kubedb-dbaas") in everything
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kubedb-dbaas",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kubedb-dbaas", "namespace": NAMESPACE}
    ]


def test_the_settings_given_to_the_app_are_ones_it_accepts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    everything = objects()
    given = dict(everything[("ConfigMap", "kubedb-dbaas")]["data"])
    given.update({k: v for k, v in env_values(deployment()).items() if isinstance(v, str)})
    known = {name.upper() for name in Settings.model_fields}
    for name in known:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in given.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert set(given) <= known
    assert settings.cluster_in_cluster and settings.cluster_kubeconfig is None
    assert settings.redis_url == "redis://redis.kubedb-dbaas.svc:6379/0"
    assert str(settings.data_dir) == "/app/var"
    mounts = {m["mountPath"] for m in container(deployment())["volumeMounts"]}
    assert "/app/var" in mounts  # writable under a read-only root file system


def test_the_secret_template_is_not_applied_with_the_rest_and_holds_no_secret() -> None:
    templates = objects(MANIFESTS / "templates")
    app_secret = templates[("Secret", "kubedb-dbaas")]["stringData"]
    mongo_secret = templates[("Secret", "kubedb-dbaas-mongodb")]["stringData"]
    referenced = {
        ref["secretRef"]["name"] for ref in container(deployment())["envFrom"] if "secretRef" in ref
    }

    assert not [key for key in objects() if key[0] == "Secret"]
    assert referenced == {"kubedb-dbaas"}
    assert set(app_secret) == {"ADMIN_API_KEY", "MONGODB_URL"}
    for value in (*app_secret.values(), *mongo_secret.values()):
        assert "<" in value and ">" in value, f"not a placeholder: {value!r}"
    with pytest.raises(ValueError):  # a template applied by mistake stops at start
        Settings(admin_api_key=app_secret["ADMIN_API_KEY"])


def test_mongodb_and_redis_keep_their_data_and_answer_at_the_configured_addresses() -> None:
    everything = objects()
    config = everything[("ConfigMap", "kubedb-dbaas")]["data"]
    templates = objects(MANIFESTS / "templates")
    mongo_url = templates[("Secret", "kubedb-dbaas")]["stringData"]["MONGODB_URL"]

    for name, port in (("mongodb", 27017), ("redis", 6379)):
        stateful = everything[("StatefulSet", name)]["spec"]
        service = everything[("Service", name)]["spec"]
        claims = stateful["volumeClaimTemplates"]
        mounted = {m["name"] for m in container(everything[("StatefulSet", name)])["volumeMounts"]}
        assert {c["metadata"]["name"] for c in claims} <= mounted
        assert service["ports"][0]["port"] == port
        assert service["selector"] == stateful["selector"]["matchLabels"]
        policy = everything[("NetworkPolicy", name)]["spec"]
        assert policy["ingress"][0]["from"] == [{"podSelector": {"matchLabels": APP_LABELS}}]
    assert f"@mongodb.{NAMESPACE}.svc:27017" in mongo_url
    assert config["REDIS_URL"].startswith(f"redis://redis.{NAMESPACE}.svc:6379")
    redis_args = container(everything[("StatefulSet", "redis")])["args"]
    assert redis_args[redis_args.index("--appendonly") + 1] == "yes"
    assert container(everything[("StatefulSet", "mongodb")])["envFrom"] == [
        {"secretRef": {"name": "kubedb-dbaas-mongodb"}}
    ]


def test_the_readmes_apply_order_applies_every_manifest_once_namespace_first() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Kubernetes") : readme.index("### Is there exactly one")]
    script = section[section.index("```sh") :].split("```")[1].replace("\\\n", " ")
    applied = [
        path
        for line in script.splitlines()
        if "kubectl apply" in line
        for path in re.findall(r"-f (\S+)", line)
    ]
    copied = {copy: source for source, copy in re.findall(r"^cp (\S+) (\S+)", script, re.M)}

    sources = [copied.get(path, path) for path in applied]
    assert sources[0] == "k8s/app/namespace.yaml"
    assert sorted(sources) == sorted(
        str(p.relative_to(ROOT))
        for p in [*MANIFESTS.glob("*.yaml"), *(MANIFESTS / "templates").glob("*.yaml")]
    )
    # The secret comes before the pods that read it; the store before the app.
    assert applied.index("var/secret.yaml") < applied.index("k8s/app/deployment.yaml")
    assert applied.index("k8s/app/mongodb.yaml") < applied.index("k8s/app/deployment.yaml")
