"""The kubeconfig that points kubectl, lightkube or our cluster gateway at a simulator:
server URL, no authentication, one context named `kubedb-simulator`. Written as JSON, which
every kubeconfig reader accepts (JSON is YAML)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONTEXT = "kubedb-simulator"


def build(url: str, *, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write(path: Path, url: str) -> None:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(build(url), indent=2) + "\n")
    os.chmod(partial, 0o600)
    partial.replace(path)
