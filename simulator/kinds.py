"""What the API server's own strategies do to built-in kinds on every write (never skipped,
unlike admission): a Secret's `stringData` becomes base64 `data` and its `type` defaults to
Opaque; a Service gets `type: ClusterIP`, a stable cluster IP and defaulted ports."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from simulator import immutable
from simulator.objects import Obj, meta


def prepare_secret(new: Obj, old: Obj | None) -> None:
    string_data = new.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        existing = new.get("data")
        data: dict[str, Any] = existing if isinstance(existing, dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        new["data"] = data
    new.setdefault("type", old.get("type", "Opaque") if old else "Opaque")
    immutable.check_secret(new, old)


def prepare_namespace(new: Obj, old: Obj | None) -> None:
    """Every namespace carries its own name as the `kubernetes.io/metadata.name` label."""
    md = meta(new)
    labels = md.get("labels")
    md["labels"] = {
        **(labels if isinstance(labels, dict) else {}),
        "kubernetes.io/metadata.name": str(md.get("name", "")),
    }


def _cluster_ip(obj: Obj) -> str:
    md = obj.get("metadata", {})
    digest = hashlib.sha256(f"{md.get('namespace')}/{md.get('name')}".encode()).digest()
    return f"10.96.{digest[0]}.{max(1, digest[1])}"


def prepare_service(new: Obj, old: Obj | None) -> None:
    spec = new.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    old_ip = (old or {}).get("spec", {}).get("clusterIP")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = old_ip or _cluster_ip(new)
    immutable.check_service(new, old)
    if spec.get("clusterIP"):
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
