"""The kubeconfig that points kubectl, lightkube or our cluster gateway at a simulator:
server URL, the admin's bearer token (cluster-admin), one context named `kubedb-simulator`.
Written as JSON, which every kubeconfig reader accepts (JSON is YAML)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

CONTEXT = "kubedb-simulator"


def build(
    url: str, *, token: str, ca_pem: bytes | None = None, namespace: str = "default"
) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def token_in(path: Path) -> str | None:
    """The token of the simulator's user in a kubeconfig written before, if any: a
    restarted simulator keeps it, so the kubeconfig does not change."""
    try:
        config = json.loads(path.read_text())
        users = {u["name"]: u.get("user") or {} for u in config["users"]}
        token = users[CONTEXT].get("token")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return token if isinstance(token, str) and token else None


def write(path: Path, url: str, *, token: str, ca_pem: bytes | None = None) -> None:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(build(url, token=token, ca_pem=ca_pem), indent=2) + "\n")
    os.chmod(partial, 0o600)
    partial.replace(path)
