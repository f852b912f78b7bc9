"""How to reach one cluster: a bare URL (the simulator), a kubeconfig (path or content), or
the in-cluster service account. Turned into a lightkube configuration by `to_lightkube`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ConnectionKind(StrEnum):
    URL = "url"
    KUBECONFIG_PATH = "kubeconfig_path"
    KUBECONFIG = "kubeconfig"
    IN_CLUSTER = "in_cluster"


@dataclass(frozen=True, slots=True)
class ClusterConnection:
    kind: ConnectionKind
    # The URL, the kubeconfig path, or the kubeconfig content, by `kind`.
    value: str = ""
    context: str | None = None
    # False: the server's certificate is not checked (a provider's `verify_ssl`).
    verify_ssl: bool = True

    @classmethod
    def url(cls, url: str, *, verify_ssl: bool = True) -> ClusterConnection:
        return cls(ConnectionKind.URL, url, verify_ssl=verify_ssl)

    @classmethod
    def kubeconfig_path(
        cls, path: Path | str, *, context: str | None = None, verify_ssl: bool = True
    ) -> ClusterConnection:
        return cls(ConnectionKind.KUBECONFIG_PATH, str(path), context, verify_ssl)

    @classmethod
    def kubeconfig(
        cls, content: str, *, context: str | None = None, verify_ssl: bool = True
    ) -> ClusterConnection:
        return cls(ConnectionKind.KUBECONFIG, content, context, verify_ssl)

    @classmethod
    def in_cluster(cls, service_account: str = SERVICE_ACCOUNT_DIR) -> ClusterConnection:
        """The pod's service account (token, CA, namespace under `service_account`) and the
        API server the kubelet names in KUBERNETES_SERVICE_HOST/PORT."""
        return cls(ConnectionKind.IN_CLUSTER, service_account)

    def __repr__(self) -> str:
        # Kubeconfig content holds credentials: never in a repr (and so never in a log).
        shown = self.value if self.kind is not ConnectionKind.KUBECONFIG else "<content>"
        return f"ClusterConnection({self.kind.value}, {shown!r})"


def to_lightkube(connection: ClusterConnection) -> KubeConfig:
    """Raises `ValueError` for a kubeconfig that is not a YAML mapping."""
    insecure = not connection.verify_ssl
    if connection.kind is ConnectionKind.URL:
        # KubeConfig.from_server fails in lightkube 1.0.1 ("Missing user"): build it whole.
        return KubeConfig.from_one(
            cluster=Cluster(server=connection.value, insecure=insecure), user=User()
        )
    if connection.kind is ConnectionKind.KUBECONFIG_PATH and not insecure:
        config = KubeConfig.from_file(connection.value)
    elif connection.kind in (ConnectionKind.KUBECONFIG, ConnectionKind.KUBECONFIG_PATH):
        text = connection.value
        if connection.kind is ConnectionKind.KUBECONFIG_PATH:
            text = Path(connection.value).read_text()
        config = KubeConfig.from_dict(_skip_tls_verify(parse_kubeconfig(text), insecure))
    else:
        config = KubeConfig.from_service_account(connection.value)
    if connection.context:
        config.current_context = connection.context
    return config


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """A kubeconfig's content as a mapping; `ValueError` when it is not one."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {exc}") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("clusters"), list):
        raise ValueError("not a kubeconfig: no `clusters` list")
    return loaded


def _skip_tls_verify(config: dict[str, Any], insecure: bool) -> dict[str, Any]:
    if insecure:
        for entry in config["clusters"]:
            if isinstance(entry, dict) and isinstance(entry.get("cluster"), dict):
                entry["cluster"]["insecure-skip-tls-verify"] = True
    return config
