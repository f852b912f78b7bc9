"""How to reach one cluster: a bare URL (the simulator), a kubeconfig (path or content), or
the in-cluster service account. Turned into a lightkube configuration by `to_lightkube`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

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

    @classmethod
    def url(cls, url: str) -> ClusterConnection:
        return cls(ConnectionKind.URL, url)

    @classmethod
    def kubeconfig_path(cls, path: Path | str, *, context: str | None = None) -> ClusterConnection:
        return cls(ConnectionKind.KUBECONFIG_PATH, str(path), context)

    @classmethod
    def kubeconfig(cls, content: str, *, context: str | None = None) -> ClusterConnection:
        return cls(ConnectionKind.KUBECONFIG, content, context)

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
    if connection.kind is ConnectionKind.URL:
        # KubeConfig.from_server fails in lightkube 1.0.1 ("Missing user"): build it whole.
        return KubeConfig.from_one(cluster=Cluster(server=connection.value), user=User())
    if connection.kind is ConnectionKind.KUBECONFIG_PATH:
        config = KubeConfig.from_file(connection.value)
    elif connection.kind is ConnectionKind.KUBECONFIG:
        config = KubeConfig.from_dict(yaml.safe_load(connection.value))
    else:
        config = KubeConfig.from_service_account(connection.value)
    if connection.context:
        config.current_context = connection.context
    return config
