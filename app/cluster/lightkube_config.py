"""A `ClusterConnection` as lightkube's configuration: the one place that knows lightkube's
kubeconfig model (the gateway builds its client from it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User

from app.cluster.config import (
    ClusterConnection,
    ConnectionKind,
    parse_kubeconfig,
    refuse_unsafe,
)


def _skip_tls_verify(config: dict[str, Any], insecure: bool) -> dict[str, Any]:
    if insecure:
        for entry in config["clusters"]:
            if isinstance(entry, dict) and isinstance(entry.get("cluster"), dict):
                entry["cluster"]["insecure-skip-tls-verify"] = True
    return config


def to_lightkube(connection: ClusterConnection) -> KubeConfig:
    """Raises `ValueError` for a kubeconfig that is not a YAML mapping."""
    insecure = not connection.verify_ssl
    if not connection.trusted and connection.kind in (
        ConnectionKind.KUBECONFIG,
        ConnectionKind.KUBECONFIG_PATH,
    ):
        text = connection.value
        if connection.kind is ConnectionKind.KUBECONFIG_PATH:
            text = Path(connection.value).read_text()
        given = parse_kubeconfig(text)
        refuse_unsafe(given)
        loaded = KubeConfig.from_dict(_skip_tls_verify(given, insecure))
        if connection.context:
            loaded.current_context = connection.context
        return loaded
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
