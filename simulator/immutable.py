"""Fields the API server's validation refuses to change on update, for the built-in kinds:
a Secret's `type`, and its `data` (and `immutable` itself) once `immutable: true`; the same
for a ConfigMap's `data` and `binaryData`; a Service's primary cluster IP. Called from the
kinds' write rules (`kinds`) with the stored object; answers 422 with the real wording."""

from __future__ import annotations

import json
from typing import Any

from simulator import errors
from simulator.objects import Obj, meta

_LOCKED = "field is immutable when `immutable` is set"


class _Core:
    """The error target of a core kind (see `errors.Target`)."""

    def __init__(self, kind: str) -> None:
        self.group, self.kind, self.plural = "", kind, kind.lower() + "s"


def _go(value: Any) -> str:
    """A value as Go's field errors print it (`%#v` of strings and string slices)."""
    if isinstance(value, list):
        return "[]string{" + ", ".join(json.dumps(str(v)) for v in value) + "}"
    return json.dumps(value)


def _raise(kind: str, obj: Obj, causes: list[errors.Cause]) -> None:
    if causes:
        raise errors.invalid(_Core(kind), str(meta(obj).get("name", "")), causes)


def _locked(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[errors.Cause]:
    if old.get("immutable") is not True:
        return []
    causes = []
    if new.get("immutable") is not True:
        causes.append(errors.Cause("immutable", f"Forbidden: {_LOCKED}", "FieldValueForbidden"))
    for field in fields:
        if (new.get(field) or {}) != (old.get(field) or {}):
            causes.append(errors.Cause(field, f"Forbidden: {_LOCKED}", "FieldValueForbidden"))
    return causes


def check_secret(new: Obj, old: Obj | None) -> None:
    if old is None:
        return
    causes = []
    if new.get("type") != old.get("type"):
        causes.append(
            errors.Cause("type", f"Invalid value: {_go(new.get('type'))}: field is immutable")
        )
    _raise("Secret", new, causes + _locked(new, old, ("data",)))


def check_configmap(new: Obj, old: Obj | None) -> None:
    if old is not None:
        _raise("ConfigMap", new, _locked(new, old, ("data", "binaryData")))


def check_service(new: Obj, old: Obj | None) -> None:
    """The primary cluster IP may not change (unless the Service is or becomes an
    ExternalName). A changed `clusterIP` with unchanged `clusterIPs` moves both, as the
    server's update normalisation does."""
    if old is None:
        return
    spec, before = new.get("spec") or {}, old.get("spec") or {}
    if "ExternalName" in (spec.get("type"), before.get("type")):
        return
    old_ips = before.get("clusterIPs") or []
    ips = spec.get("clusterIPs") or old_ips
    if spec.get("clusterIP") not in (None, "", before.get("clusterIP")) and ips == old_ips:
        ips = [spec["clusterIP"]]
    if old_ips and ips and ips[0] != old_ips[0]:
        _raise(
            "Service",
            new,
            [
                errors.Cause(
                    "spec.clusterIPs[0]", f"Invalid value: {_go(ips)}: may not change once set"
                )
            ],
        )
