"""How to reach one cluster: a bare URL (the simulator), a kubeconfig (path or content), or
the in-cluster service account, and the checks a client's kubeconfig must pass. Turned into a
lightkube configuration by `app.cluster.lightkube_config.to_lightkube`; this module imports no
cluster client, so that services may describe a connection."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# Objects per page of a list request (limit/continue).
LIST_CHUNK = 500


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
    # False for a kubeconfig an API client gave (a provider's): only embedded credentials
    # are accepted, nothing that runs a command or reads a file (`refuse_unsafe`).
    trusted: bool = True

    @classmethod
    def url(cls, url: str, *, verify_ssl: bool = True) -> ClusterConnection:
        return cls(ConnectionKind.URL, url, verify_ssl=verify_ssl)

    @classmethod
    def kubeconfig_path(
        cls,
        path: Path | str,
        *,
        context: str | None = None,
        verify_ssl: bool = True,
        trusted: bool = True,
    ) -> ClusterConnection:
        return cls(ConnectionKind.KUBECONFIG_PATH, str(path), context, verify_ssl, trusted)

    @classmethod
    def kubeconfig(
        cls,
        content: str,
        *,
        context: str | None = None,
        verify_ssl: bool = True,
        trusted: bool = True,
    ) -> ClusterConnection:
        return cls(ConnectionKind.KUBECONFIG, content, context, verify_ssl, trusted)

    @classmethod
    def in_cluster(cls, service_account: str = SERVICE_ACCOUNT_DIR) -> ClusterConnection:
        """The pod's service account (token, CA, namespace under `service_account`) and the
        API server the kubelet names in KUBERNETES_SERVICE_HOST/PORT."""
        return cls(ConnectionKind.IN_CLUSTER, service_account)

    def __repr__(self) -> str:
        # Kubeconfig content holds credentials: never in a repr (and so never in a log).
        shown = self.value if self.kind is not ConnectionKind.KUBECONFIG else "<content>"
        return f"ClusterConnection({self.kind.value}, {shown!r})"


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """A kubeconfig's content as a mapping; `ValueError` when it is not one. The message
    never quotes the content (it holds credentials): a line number at most."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"not valid YAML{where}") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("clusters"), list):
        raise ValueError("not a kubeconfig: no `clusters` list")
    return loaded


# What a kubeconfig from an API client may not hold: ways to run a command or to read a file
# of the control plane's (whose content would go to the server the kubeconfig names).
_UNSAFE_USER = {
    "exec": "runs a command",
    "auth-provider": "runs a plugin",
    "tokenFile": "reads a file",
    "client-certificate": "reads a file",
    "client-key": "reads a file",
}
_UNSAFE_CLUSTER = {"certificate-authority": "reads a file"}


def refuse_unsafe(config: dict[str, Any]) -> None:
    """`ValueError` when the kubeconfig would run a command or read a local file."""
    for section, unsafe in (("users", _UNSAFE_USER), ("clusters", _UNSAFE_CLUSTER)):
        for entry in config.get(section) or []:
            body = (entry or {}).get(section[:-1]) if isinstance(entry, dict) else None
            for name, why in unsafe.items():
                if isinstance(body, dict) and name in body:
                    raise ValueError(
                        f"{section[:-1]} {entry.get('name')!r} uses {name!r}, which {why}: "
                        "not accepted for a provider; embed the credentials instead "
                        "(token, client-certificate-data, client-key-data, "
                        "certificate-authority-data)"
                    )
